"""Reading the people and policy files: TOML or JSON by extension, errors that name the file and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import orjson


def read_document(path: Path, what: str, setting: str, error: type[ValueError]) -> object:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise error(f"{what} {path} does not exist (set {setting})") from exc
    try:
        return tomllib.loads(raw.decode()) if path.suffix == ".toml" else orjson.loads(raw)
    except (tomllib.TOMLDecodeError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise error(f"{what} {path} is not valid {kind}: {exc}") from exc


def describe_errors(title: str, errors: list[dict[str, object]]) -> str:
    """Pydantic's errors as one line per problem, each starting with where it is."""
    lines = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"])  # type: ignore[attr-defined]
        lines.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return f"{title}:\n  " + "\n  ".join(lines)
