"""Reading the settings when a command starts: a refusal is one line naming the fix and exit 2, never a traceback."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from carewatch.settings import Settings


def settings_or_exit(err: Console, **overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            name = f"CAREWATCH_{where.upper()}: " if where else ""
            err.print(f"[red]{escape(name + error['msg'].removeprefix('Value error, '))}[/]", soft_wrap=True)
        raise typer.Exit(2) from exc
