"""`carewatch admin`: the first accounts and API keys of a deployment, made on the command line.

A fresh `carewatch run` has nobody who can sign in, and the API only lets admins make
accounts and keys: these commands break that circle. They write to the database named
in settings (CAREWATCH_DATABASE_URL), creating or upgrading the schema first, and
validate input with the same models as the API (`POST /api/users`, `POST /api/api-keys`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from carewatch.settings import Settings
from carewatch.cli.settings import settings_or_exit

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.ext.asyncio import AsyncSession

    from api.models import User
    from api.routes.accounts import ApiKeyCreate, UserCreate

# The API's modules (FastAPI, SQLAlchemy, argon2) are imported inside the commands: every other
# `carewatch` command would otherwise wait two seconds for them at start.

T = TypeVar("T")

CREATED_BY = "carewatch admin (command line)"
"""Named as the creator of keys made here, where the API would name the signed-in admin."""

admin = typer.Typer(help="Bootstrap accounts and API keys (writes to CAREWATCH_DATABASE_URL).", no_args_is_help=True)
err = Console(stderr=True)


class AdminError(Exception):
    """Input the database refuses (unknown site, name taken); the message says what to do."""


def _split(values: Iterable[str] | None) -> list[str]:
    """``--scopes a,b --scopes c`` → [a, b, c]: comma-separated, repeatable, blanks dropped."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _invalid(exc: ValidationError) -> typer.Exit:
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "input"
        err.print(f"[red]{where}[/]: {error['msg']}")
    return typer.Exit(2)


def _read_password() -> str:
    """From a pipe: its first line (scripts, secrets managers). At a terminal: asked twice, not echoed."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True, err=True))


async def _missing_sites(session: AsyncSession, sites: list[str]) -> list[str]:
    from sqlalchemy import select

    from carewatch.directory import Site

    found = set((await session.scalars(select(Site.id).where(Site.id.in_(sites)))).all()) if sites else set()
    return [site for site in sites if site not in found]


async def _in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from carewatch.schema import in_current_database

    return await in_current_database(settings.database_url, work)


def _no_such_sites(missing: list[str]) -> AdminError:
    return AdminError(
        f"no site {', '.join(repr(s) for s in missing)} in the directory: import the district first "
        "(CAREWATCH_REGISTRY_PATH at `carewatch run`, or POST /api/import with an admin key)"
    )


async def add_user(settings: Settings, body: UserCreate) -> User:
    from sqlalchemy import select

    from api.auth import create_user
    from api.models import Role, User

    async def work(session: AsyncSession) -> User:
        if await session.scalar(select(User.id).where(User.username == body.username)) is not None:
            raise AdminError(f"user name {body.username!r} is taken")
        sites = [] if body.role is Role.ADMIN else body.sites
        if missing := await _missing_sites(session, sites):
            raise _no_such_sites(missing)
        return await create_user(session, body.username, body.password, body.role, sites, body.display_name)

    return await _in_database(settings, work)


async def add_key(settings: Settings, body: ApiKeyCreate) -> str:
    from api.auth import create_api_key

    async def work(session: AsyncSession) -> str:
        if body.sites is not None and (missing := await _missing_sites(session, body.sites)):
            raise _no_such_sites(missing)
        _, secret = await create_api_key(session, body.name, body.scopes, body.sites, CREATED_BY)
        return secret

    return await _in_database(settings, work)


async def migrate(settings: Settings) -> tuple[str | None, str | None]:
    """Upgrades the database to the newest schema; returns its revision before and after."""
    from carewatch.db import make_engine
    from carewatch.schema import create_schema, schema_revision

    engine = make_engine(settings.database_url)
    try:
        before = await schema_revision(engine)
        await create_schema(engine)
        return before, await schema_revision(engine)
    finally:
        await engine.dispose()


@admin.command("migrate")
def migrate_command() -> None:
    """Upgrade the database's schema now (`carewatch run` and the other commands also do it at start)."""
    before, after = asyncio.run(migrate(settings_or_exit(err)))
    if before == after:
        print(f"schema already at revision {after}: nothing to do")
    else:
        print(f"schema upgraded from {before or 'none (empty, or made before migrations)'} to {after}")


@admin.command("create-user")
def create_user_command(
    username: Annotated[str, typer.Option(help="Sign-in name: letters, digits, _ . @ -")],
    role: Annotated[str, typer.Option(help="duty, supervisor or admin (admins see every site).")],
    site: Annotated[list[str] | None, typer.Option(help="A site the account sees (repeatable or comma-separated); required below admin.")] = None,
    display_name: Annotated[str | None, typer.Option(help="Shown in the audit trail (default: the user name).")] = None,
) -> None:
    """Create a console account. The password is asked for twice, or read from the first line of stdin."""
    from pydantic import ValidationError

    from api.models import Role
    from api.routes.accounts import UserCreate

    if role not in set(Role):
        err.print(f"[red]--role[/]: {role!r} is not one of {', '.join(r.value for r in Role)}")
        raise typer.Exit(2)
    sites = _split(site)
    if role != Role.ADMIN and not sites:
        err.print(f"[red]--site[/]: a {role} account sees only its sites; name at least one (or use --role admin)")
        raise typer.Exit(2)
    password = _read_password()
    try:
        body = UserCreate(username=username, display_name=display_name or username, password=password, role=role, sites=sites)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _invalid(exc) from exc
    try:
        user = asyncio.run(add_user(settings_or_exit(err), body))
    except AdminError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    scope = "every site" if body.role is Role.ADMIN else "sites " + ", ".join(sorted(set(sites)))
    err.print(f"created {body.role.value} account [bold]{user.username}[/] (id {user.id}) for {scope}")


@admin.command("create-key")
def create_key_command(
    name: Annotated[str, typer.Option(help="What the key is for; named in the audit trail as api-key:<name>.")],
    scopes: Annotated[list[str], typer.Option(help="Comma-separated or repeated (alerts:read, directory:write, import, ...); 'all' for every scope a key may have.")],
    sites: Annotated[list[str] | None, typer.Option(help="Limit the key to these sites (comma-separated or repeated); default: every site.")] = None,
) -> None:
    """Create an integrator's API key and print it once on stdout (only its hash is kept)."""
    from pydantic import ValidationError

    from api.models import KEY_SCOPES
    from api.routes.accounts import ApiKeyCreate

    wanted = _split(scopes)
    chosen = sorted(KEY_SCOPES) if wanted == ["all"] else wanted
    try:
        body = ApiKeyCreate(name=name, scopes=chosen, sites=_split(sites) if sites else None)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _invalid(exc) from exc
    for scope in body.scopes:
        if scope not in KEY_SCOPES:
            err.print(f"[red]--scopes[/]: {scope.value!r} is for people's accounts only, never for a key")
            raise typer.Exit(2)
    try:
        key = asyncio.run(add_key(settings_or_exit(err), body))
    except AdminError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    err.print(
        f"API key [bold]{body.name}[/] with {', '.join(s.value for s in body.scopes)} for "
        + ("every site" if body.sites is None else "sites " + ", ".join(body.sites))
        + ". Store it now: it is not shown again. Send it as 'Authorization: Bearer <key>'."
    )
    sys.stdout.write(key + "\n")
