"""What the deployment files may name: carewatch's commands and settings, as the code defines them."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from carewatch.cli import app
from carewatch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

SETTING_NAMES = frozenset(f"CAREWATCH_{name.upper()}" for name in Settings.model_fields)
LONG_RUNNING = frozenset({"run", "ingest", "worker", "alerts"})
"""The commands that serve until stopped (the rest do a job and exit)."""


def tool(name: str, debian_package: str) -> str:
    """The path of a command a test runs; missing, the test fails on CI (.ci/run installs it) and is skipped elsewhere."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs the Debian package {debian_package}, which ships it")
        pytest.skip(f"{name} is missing (apt-get install {debian_package})")
    return found


def is_carewatch_command(arguments: Sequence[str]) -> bool:
    """``carewatch <arguments> --help`` exits 0: the command and its options exist (typer's --help is eager)."""
    return CliRunner().invoke(app, [*arguments, "--help"]).exit_code == 0


def unknown_settings(names: object) -> list[str]:
    return sorted(name for name in names if str(name).startswith("CAREWATCH_") and name not in SETTING_NAMES)  # type: ignore[union-attr]


def settings_from(environment: Mapping[str, str]) -> Settings:
    """Settings as a process given only this environment would read them (no .env file, nothing else)."""
    outside = {name: value for name, value in os.environ.items() if not name.startswith("CAREWATCH_")}
    with mock.patch.dict(os.environ, {**outside, **environment}, clear=True):
        return Settings(_env_file=None)  # type: ignore[call-arg]


INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``; ``$$`` is a literal ``$``."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        given = variables.get(name, "")
        if op in (":-", "-"):
            return given or arg
        if op in (":?", "?") and not given:
            raise KeyError(f"{name} is required: {arg}")
        return given

    return INTERPOLATION.sub(value, text.replace("$$", "\0")).replace("\0", "$")
