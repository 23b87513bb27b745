"""Local catchers for the demo: an SMTP server writing a Maildir, an HTTP endpoint logging what providers and robots get.

They stand where the real mail server, SMS provider and group robots would be, so a
person running `carewatch demo` can open what the ladder sent (the Maildir with any
mail client or `/notifications/mail`, the HTTP log as JSON lines).
"""

from __future__ import annotations

import json
import mailbox
import threading
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from alerts.sample_people import sample_people
from carewatch.clock import Clock, wall_clock
from carewatch.loopback import free_port

HTTP_LOG = "http.jsonl"
MAIL_DIR = "mail"


@dataclass(frozen=True, slots=True)
class Catchers:
    smtp_port: int
    http_url: str
    directory: Path
    people_path: Path | None = None


@contextmanager
def running_catchers(directory: Path, host: str = "127.0.0.1", clock: Clock = wall_clock) -> Iterator[Catchers]:
    """``clock`` stamps each HTTP request's "at" (the console demo's simulated time, so /notifications shows one time)."""
    directory.mkdir(parents=True, exist_ok=True)
    smtp_port = free_port(host)  # aiosmtpd's controller cannot report a port 0 chose: pick one first
    smtp = Controller(Mailbox(directory / MAIL_DIR), hostname=host, port=smtp_port)
    smtp.start()
    log_path = directory / HTTP_LOG
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                content: object = json.loads(body)
            except ValueError:
                content = body.decode(errors="replace")
            entry = {
                "at": clock().isoformat(), "path": self.path,
                "idempotency_key": self.headers.get("Idempotency-Key"), "body": content,
            }
            with lock, log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            reply = b'{"errcode": 0, "errmsg": "ok", "code": 0}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="carewatch-http-catcher", daemon=True).start()
    try:
        yield Catchers(smtp_port, f"http://{host}:{server.server_address[1]}", directory)
    finally:
        server.shutdown()
        server.server_close()
        smtp.stop()


def caught_mail(directory: Path, limit: int = 200) -> list[tuple[str, EmailMessage]]:
    """(key, message) of the Maildir under ``directory``, newest first."""
    path = directory / MAIL_DIR
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    found = []
    for key in box.keys():
        with box.get_file(key) as raw:
            found.append((key, message_from_bytes(raw.read(), policy=policy.default)))
    found.sort(key=lambda item: _sent_at(item[1]), reverse=True)
    return found[:limit]  # type: ignore[return-value]


def _sent_at(mail: EmailMessage) -> datetime:
    """The mail's Date header as a moment (the oldest possible without one), to sort newest first."""
    moment = getattr(mail.get("Date"), "datetime", None)
    return moment if moment is not None and moment.tzinfo is not None else datetime.min.replace(tzinfo=UTC)


def caught_http(directory: Path, limit: int = 200) -> list[dict[str, object]]:
    path = directory / HTTP_LOG
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in reversed(lines[-limit:])]


@contextlib.asynccontextmanager
async def demo_catchers(
    directory: Path, households: list[dict[str, Any]], seed: int, clock: Clock = wall_clock
) -> AsyncIterator[Catchers]:
    """Catchers plus a people file for ``households`` (registry entries) whose addresses all lead to them."""
    with running_catchers(directory, clock=clock) as catchers:
        people = directory / "people.json"
        people.write_bytes(orjson.dumps(sample_people(households, catchers.http_url, seed), option=orjson.OPT_INDENT_2))
        yield replace(catchers, people_path=people)
