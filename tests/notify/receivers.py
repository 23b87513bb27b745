"""A real HTTP receiver on loopback for the channels (webhooks, SMS provider, robots); the SMTP server is in tests/services.py.

Like the SMTP server, it can be told to misbehave for a while (refuse, time out, answer 429/500) and it
counts what arrived per idempotency key, like a provider that honours the key would.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from carewatch.loopback import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Answers each request with the next scripted behaviour, then 200 (or ``reply``) for ever."""

    port: int = 0
    script: list[object] = field(default_factory=list)
    """Entries: an int status, ("status", retry_after), "timeout" (sleep past the client's timeout), "drop"."""
    reply: dict[str, object] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    hang_on: int | None = None
    """Block the request with this (1-based) number until ``release`` is set: a crash window for tests."""
    hung: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def delivered(self) -> Counter[str]:
        """Requests per idempotency key that got a 2xx (what a deduplicating provider would see as sends)."""
        return Counter(r.headers.get("idempotency-key", "") for r in self.accepted)

    def effects(self) -> set[str]:
        """Distinct keys acted on: a provider honouring Idempotency-Key sends each of these once."""
        return set(self.delivered())


@contextmanager
def http_receiver(**options: object) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(port=free_port(), **options)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with receiver.lock:
                receiver.requests.append(got)
                number = len(receiver.requests)
                behaviour = receiver.script.pop(0) if receiver.script else 200
            if receiver.hang_on == number:
                # The provider took the message, then the sender died before hearing so.
                with receiver.lock:
                    receiver.accepted.append(got)
                receiver.hung.set()
                receiver.release.wait(30)
                return  # the sender was killed meanwhile: nobody reads an answer
            if behaviour == "timeout":
                time.sleep(1.0)
                behaviour = 503
            if behaviour == "drop":
                self.close_connection = True
                self.connection.close()
                return
            status, retry_after = behaviour if isinstance(behaviour, tuple) else (behaviour, None)
            if 200 <= int(status) < 300:
                with receiver.lock:
                    receiver.accepted.append(got)
            payload = json.dumps(receiver.reply if 200 <= int(status) < 300 else {"error": status}).encode()
            try:
                self.send_response(int(status))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left, as the test intended

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    # A short poll: shutdown() waits for the serving loop to look, 0.5 s by default, at every test's end.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
