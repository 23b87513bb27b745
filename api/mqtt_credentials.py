"""Per-gateway MQTT credentials: Mosquitto's password and ACL files, written from the directory.

Each gateway's user name is its gateway id; the ACL lets a user publish only under its own
``<prefix>/gateways/<user>/``, so a gateway cannot speak for another. The ingest user (from
``CAREWATCH_MQTT_URL``) may read every gateway's topics. carewatch's own identities (its client id,
its ingest user, anything starting ``carewatch-``) are never a gateway's: the API refuses them and they
are never written as a gateway's password line. The broker pins each client id to its user
(``use_username_as_clientid true`` in deploy/mosquitto.conf.example), so no gateway can connect as
carewatch's client id and take over its session. Passwords are generated here, shown
once, and kept only as Mosquitto's PBKDF2-SHA512 hash (``$7$``, what ``mosquitto_passwd`` writes).
After writing, the broker is sent SIGHUP so it reloads both files without dropping connections.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import signal
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carewatch.directory import Gateway
from carewatch.settings import Settings

log = logging.getLogger(__name__)

RESERVED_PREFIX = "carewatch-"
"""Client ids and user names for carewatch's own processes (ingest, bridge, …), now and later."""
ITERATIONS = 10_000
SALT_BYTES = 12


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``$7$`` line format of mosquitto_passwd (Mosquitto ≥ 2.0): PBKDF2-HMAC-SHA512, 64-byte key.

    >>> mosquitto_hash("secret", salt=bytes(12), iterations=101)[:24]
    '$7$101$AAAAAAAAAAAAAAAA$'
    """
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    written: bool
    reloaded: bool


def why_reserved(name: str, settings: Settings) -> str | None:
    """Why ``name`` may not be a gateway's id (its MQTT user name and client id), or None if it may.

    Compared case-insensitively: a look-alike of carewatch's own identity is refused too.
    """
    folded = name.casefold()
    if folded.startswith(RESERVED_PREFIX):
        return f"{name!r} is reserved: ids starting with {RESERVED_PREFIX!r} are carewatch's own MQTT client ids and user names"
    ingest = _ingest_user(settings)
    own = {settings.mqtt_client_id, settings.mqtt_ingest_username, *([ingest[0]] if ingest else [])}
    if folded in {identity.casefold() for identity in own}:
        return (f"{name!r} is reserved: it is carewatch's own MQTT client id or user name "
                "(CAREWATCH_MQTT_CLIENT_ID, CAREWATCH_MQTT_INGEST_USERNAME, the user in CAREWATCH_MQTT_URL)")
    return None


def acl_text(prefix: str, ingest_user: str | None) -> str:
    lines = ["# Written by carewatch from its directory: changes here are overwritten.", ""]
    if ingest_user:
        lines += [f"user {ingest_user}", f"topic read {prefix}/gateways/+/readings", f"topic read {prefix}/gateways/+/status",
                  "# HTTP pushes from NB-IoT platforms, handed to the broker by carewatch itself (docs/gateways.md)",
                  f"topic readwrite {prefix}/push/+", ""]
    lines += [
        "# Every other user is a gateway named by its id: it may publish only its own topics. Its client id is its",
        "# user name too (use_username_as_clientid true in mosquitto.conf), so it cannot take carewatch's client id.",
        f"pattern write {prefix}/gateways/%u/readings",
        f"pattern write {prefix}/gateways/%u/status",
        "",
    ]
    return "\n".join(lines)


def _ingest_user(settings: Settings) -> tuple[str, str] | None:
    if not settings.mqtt_url:
        return None
    url = urlsplit(settings.mqtt_url)
    if not url.username or url.password is None:
        return None
    return unquote(url.username), unquote(url.password)


def _write(path: Path, text: str) -> None:
    """Write then rename: the broker never reads a half-written file.  The new file keeps the old one's owner,
    group and mode: the broker (often another user) must still read it, or it locks out every client, ingest too."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    try:
        existing = path.stat()
    except FileNotFoundError:
        temporary.chmod(0o640)
    else:
        temporary.chmod(stat.S_IMODE(existing.st_mode))
        try:
            os.chown(temporary, existing.st_uid, existing.st_gid)
        except PermissionError:
            log.warning("cannot give %s the owner of the file it replaces; check that the broker can read it", path)
    temporary.replace(path)


async def write_broker_files(session: AsyncSession, settings: Settings) -> BrokerFiles:
    """Rewrite the password and ACL files from the gateways' stored hashes, then ask the broker to reload."""
    if settings.mosquitto_password_file is None or settings.mosquitto_acl_file is None:
        return BrokerFiles(written=False, reloaded=False)
    rows = (await session.execute(
        select(Gateway.id, Gateway.mqtt_password_hash).where(Gateway.mqtt_password_hash.is_not(None)).order_by(Gateway.id)
    )).all()
    lines = []
    for gateway_id, password_hash in rows:
        if reason := why_reserved(gateway_id, settings):  # made before the rule, or by hand: never carewatch's identity
            log.warning("gateway %s keeps no MQTT credentials: %s", gateway_id, reason)
            continue
        lines.append(f"{gateway_id}:{password_hash}")
    ingest = _ingest_user(settings)
    if ingest is not None:
        lines.insert(0, f"{ingest[0]}:{mosquitto_hash(ingest[1])}")
    _write(settings.mosquitto_password_file, "\n".join(lines) + "\n")
    _write(settings.mosquitto_acl_file, acl_text(settings.mqtt_topic_prefix, ingest[0] if ingest else settings.mqtt_ingest_username))
    return BrokerFiles(written=True, reloaded=reload_broker(settings.mosquitto_pid_file))


def reload_broker(pid_file: Path | None) -> bool:
    if pid_file is None:
        return False
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.warning("could not signal the MQTT broker to reload (pid file %s): %s", pid_file, exc)
        return False
    return True
