"""Accounts, console sessions and API keys: who is asking, and what they may see and do.

Passwords are hashed with argon2id (argon2-cffi). A console session is a random token in an
HttpOnly cookie whose SHA-256 is stored, with a per-session CSRF token that every form and
every state-changing fetch must send back. API keys are random too; only their SHA-256 is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import KEY_SCOPES, ROLE_SCOPES, ApiKey, ConsoleSession, Role, Scope, User, UserSite

log = logging.getLogger(__name__)

KEY_PREFIX = "cw_"
LAST_USED_PRECISION = timedelta(minutes=1)
"""A key's last use is written at most this often: one write per busy minute, not one per request."""
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""argon2id at OWASP's recommended minimum (19 MiB, 2 passes): ~0.1 s here, run off the event loop."""
_DUMMY_HASH = _hasher.hash("carewatch: equalises the time of a login with an unknown user name")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Principal:
    """The person or integrator behind a request."""

    kind: str  # "user" or "key"
    id: int
    name: str
    """Named in the audit trail."""
    scopes: frozenset[Scope]
    sites: frozenset[str] | None
    """The sites whose objects they see; None: every site."""
    role: Role | None = None
    csrf_token: str | None = None
    """Set for console sessions: state-changing requests must echo it."""

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes

    def sees(self, site_id: str | None) -> bool:
        """Objects without a site (alerts of households outside the directory) are for all-site principals only."""
        return self.sites is None or (site_id is not None and site_id in self.sites)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def login_name(typed: str) -> str:
    """The user name as sign-in looks it up: NFKC (full-width letters from a Chinese input method become
    ASCII, U+3000 a space), then without surrounding white space. The login limit counts the same name.

    >>> login_name("\u3000ｄｕｔｙ-1\t")
    'duty-1'
    """
    return unicodedata.normalize("NFKC", typed).strip()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: Role,
    sites: Collection[str] = (),
    display_name: str | None = None,
    now: datetime | None = None,
) -> User:
    """``now``: the console's clock (the console demo's simulated time); the wall clock by default."""
    user = User(
        username=username, display_name=display_name or username, password_hash=await asyncio.to_thread(hash_password, password),
        role=role, active=True, created_at=now or now_utc(),
    )
    session.add(user)
    await session.flush()
    session.add_all(UserSite(user_id=user.id, site_id=site) for site in sorted(set(sites)))
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.username == username))
    try:
        # In a thread: a verification takes a tenth of a second that the live board and ingest must not wait for.
        await asyncio.to_thread(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return user


async def user_sites(session: AsyncSession, user: User) -> frozenset[str] | None:
    if user.role is Role.ADMIN:
        return None
    return frozenset((await session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id))).all())


async def start_session(session: AsyncSession, user: User, lifetime: timedelta) -> str:
    """A new console session for ``user``; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = now_utc()
    session.add(
        ConsoleSession(
            token_hash=_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
            created_at=now, expires_at=now + lifetime,
        )
    )
    # Expired sessions are swept here rather than by a timer: logins are rare and this is cheap.
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return token


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _sha256(token)))


async def session_principal(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.execute(
            select(ConsoleSession, User)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == _sha256(token))
        )
    ).one_or_none()
    if row is None:
        return None
    console_session, user = row
    if console_session.expires_at <= now_utc() or not user.active:
        return None
    return Principal(
        kind="user", id=user.id, name=user.display_name, scopes=ROLE_SCOPES[user.role],
        sites=await user_sites(session, user), role=user.role, csrf_token=console_session.csrf_token,
    )


def csrf_matches(principal: Principal, offered: str | None) -> bool:
    return principal.csrf_token is not None and offered is not None and hmac.compare_digest(principal.csrf_token, offered)


async def create_api_key(
    session: AsyncSession,
    name: str,
    scopes: Collection[Scope],
    sites: Collection[str] | None,
    created_by: str,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key; returns the row and the key itself, which is shown once and never stored. ``now``: the console's
    clock (the wall clock by default)."""
    if not set(scopes) <= KEY_SCOPES:
        raise ValueError(f"scopes {sorted(set(scopes) - KEY_SCOPES)} cannot be given to an API key")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, prefix=prefix, secret_hash=_sha256(secret), scopes=sorted(str(s) for s in scopes),
        sites=sorted(set(sites)) if sites is not None else None, created_by=created_by, created_at=now or now_utc(),
    )
    session.add(key)
    await session.flush()
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


async def key_principal(session: AsyncSession, presented: str) -> Principal | None:
    """The key's principal, read only: its last use is recorded apart, by ``note_key_used``."""
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = presented[len(KEY_PREFIX) :].partition("_")
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.secret_hash, _sha256(secret)):
        return None
    return Principal(
        kind="key", id=key.id, name=f"api-key:{key.name}",
        scopes=frozenset(Scope(s) for s in key.scopes) & KEY_SCOPES,
        sites=frozenset(key.sites) if key.sites is not None else None,
    )


async def note_key_used(sessions: async_sessionmaker[AsyncSession], key_id: int) -> None:
    """Best effort: a database that cannot take the write (read-only, full) must not refuse the request."""
    now = now_utc()
    try:
        async with sessions.begin() as session:
            # Read first: a write statement takes SQLite's write lock even when it changes nothing.
            last_used = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))
            if last_used is None or last_used < now - LAST_USED_PRECISION:
                await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    except SQLAlchemyError as exc:
        log.warning("could not record the use of API key %s (the request goes on): %s", key_id, exc)


class LoginLimiter:
    """Failed logins per user name and per client address in a sliding window (per process).

    A guessing attacker gets ``max_per_user`` tries per account and ``max_per_client`` per
    address every window; a colleague who mistypes twice is not locked out. Names are counted
    as sign-in reads them (``login_name``), case-folded, so no spelling that signs in escapes the count.
    """

    def __init__(
        self, max_per_user: int, max_per_client: int, window: timedelta, clock: Callable[[], datetime] = now_utc
    ) -> None:
        self.max_per_user = max_per_user
        self.max_per_client = max_per_client
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[datetime]] = {}

    @staticmethod
    def _user_key(username: str) -> str:
        return f"user:{login_name(username).casefold()}"

    def _recent(self, key: str) -> deque[datetime]:
        failures = self._failures.setdefault(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def retry_after(self, username: str, client: str) -> timedelta | None:
        """How long until another try is allowed; None if allowed now."""
        waits = []
        for key, limit in ((self._user_key(username), self.max_per_user), (f"client:{client}", self.max_per_client)):
            failures = self._recent(key)
            if len(failures) >= limit:
                waits.append(failures[len(failures) - limit] + self.window - self.clock())
        return max(waits) if waits else None

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        for key in (self._user_key(username), f"client:{client}"):
            self._recent(key).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of names
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]

    def succeeded(self, username: str) -> None:
        self._failures.pop(self._user_key(username), None)
