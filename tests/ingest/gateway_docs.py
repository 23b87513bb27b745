"""The copy-paste examples of docs/gateways.md, as the tests load them."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateways.md"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def examples() -> dict[str, str]:
    """Fenced blocks named after their language (```json ttn-uplink), by name."""
    return {name: body for name, body in re.findall(r"```\w+ ([\w-]+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
