"""Who may use the console and the API: accounts, their sites, console sessions, integrators' API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime, text_enum


class Role(StrEnum):
    DUTY = "duty"  # duty staff: watch and handle alerts of their sites
    SUPERVISOR = "supervisor"  # also keeps their sites' households, meters and contacts up to date
    ADMIN = "admin"  # every site; accounts, API keys, sites, gateway credentials, bulk import


class Scope(StrEnum):
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    DIRECTORY_READ = "directory:read"
    DIRECTORY_WRITE = "directory:write"
    ABSENCES_WRITE = "absences:write"
    INGEST_READ = "ingest:read"
    SITES_WRITE = "sites:write"
    IMPORT = "import"
    GATEWAY_CREDENTIALS = "gateways:credentials"
    ACCOUNTS = "accounts"
    REPORTS_READ = "reports:read"


_DUTY = frozenset({Scope.ALERTS_READ, Scope.ALERTS_WRITE, Scope.DIRECTORY_READ, Scope.ABSENCES_WRITE, Scope.INGEST_READ})
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.DUTY: _DUTY,
    Role.SUPERVISOR: _DUTY | {Scope.DIRECTORY_WRITE, Scope.REPORTS_READ},
    Role.ADMIN: frozenset(Scope),
}
KEY_SCOPES = frozenset(Scope) - {Scope.ACCOUNTS}
"""What an integrator's key may be given: everything but managing people's accounts and keys."""



class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    """Shown in the audit trail: who acknowledged the alert."""
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(text_enum(Role))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSite(Base):
    """The sites whose households and alerts a duty officer or supervisor sees (admins see all)."""

    __tablename__ = "user_sites"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)


class ConsoleSession(Base):
    """A signed-in browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """An integrator's key: ``cw_<prefix>_<secret>``; the table keeps the prefix and the secret's SHA-256."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    sites: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """None: every site."""
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ShiftHandoff(Base):
    """What the outgoing duty officer tells the incoming one about a community: a note on the shift since ``since``.

    The handoff page shows the newest notes first, above what happened since the last handoff.
    """

    __tablename__ = "shift_handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    """The start of the shift the note covers."""
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    author: Mapped[str] = mapped_column(String(128))
    """The officer's display name, as the audit trail names people."""
    note: Mapped[str] = mapped_column(Text)
