"""Email over SMTP, with the idempotency key as the Message-ID.

Not through apprise: apprise's email plugin always writes a random Message-ID (ours
lets a mailbox drop a copy re-sent after a crash) and reports only success or
failure, hiding the 4xx (try again) / 5xx (give up) distinction the dispatcher needs.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from alerts.channels.base import IDEMPOTENCY_HEADER, Outgoing, PermanentError, TransientError
from carewatch.clock import Clock, wall_clock


def message_id(idempotency_key: str, domain: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "-" for ch in idempotency_key)
    return f"<{safe}@{domain}>"


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class EmailChannel:
    kind = "email"

    def __init__(self, settings: SmtpSettings, clock: Clock = wall_clock) -> None:
        """``clock`` dates each mail (the console demo's simulated time, so the caught mail says the demo's time)."""
        self.settings = settings
        self.clock = clock

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr(("carewatch", self.settings.sender))
        mail["To"] = formataddr((message.recipient_name, message.address)) if message.recipient_name else message.address
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(self.clock().astimezone(UTC), usegmt=True)
        mail["Message-ID"] = message_id(message.idempotency_key, self.settings.sender.rsplit("@", 1)[-1])
        mail[IDEMPOTENCY_HEADER] = message.idempotency_key
        mail["Content-Language"] = message.language
        mail.set_content(message.body)
        return mail

    async def send(self, message: Outgoing) -> None:
        await asyncio.to_thread(self._send, self.compose(message))

    def _send(self, mail: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = TransientError if all(400 <= code < 500 for code in codes) else PermanentError
            raise error(f"SMTP refused the recipient: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise error(f"SMTP {s.host}:{s.port} answered {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, disconnected
            raise TransientError(f"SMTP {s.host}:{s.port} unreachable: {type(exc).__name__}: {exc}") from exc
