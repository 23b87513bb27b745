"""Faust's and aiokafka's internals are used in one module only: `carewatch/runners/faust/adapter.py`.

The adapter names, per function, the upstream behaviour it works around; on an upgrade of
faust-streaming it is the one file to check.  This scan fails when any other module of the
repository (tests and benchmarks included) imports a private name of Faust, aiokafka or mode,
reaches a private attribute in a module that uses them, or calls one of the internals the
adapter wraps.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "carewatch" / "runners" / "faust" / "adapter.py"
LIBRARIES = ("faust", "aiokafka", "mode")

INTERNALS = {
    "_current_event",  # the stream's current event (RocksDB takes a value's partition from it)
    "current_event",
    "set_persisted_offset",  # the store's changelog offset, kept by Table._on_changelog_sent
    "send_soon",  # Faust's buffered producer
    "assignor",  # the app's partition assignor
    "assigned_actives",
    "highwater",  # the transport consumer's view of a partition's end, and its ListOffsets
    "highwaters",
    "spinner",  # mode.Worker's terminal spinner
}
"""Attributes of Faust objects that are not its user API (the ones carewatch needed, and their kin)."""

APP_INTERNALS = {"producer", "consumer"}
"""The app's transport producer and consumer: ``<something>.app.producer`` is reaching past Faust's API."""


def _is_library(module: str) -> bool:
    return module.split(".")[0] in LIBRARIES


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def internals_used(path: Path) -> list[str]:
    """What ``path`` uses of Faust's, aiokafka's and mode's internals, as ``line: what``."""
    tree = ast.parse(path.read_text(), str(path))
    uses_library = False
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _is_library(node.module):
            uses_library = True
            names = [alias.name for alias in node.names]
            if any(_private(part) for part in node.module.split(".")) or any(_private(name) for name in names):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_library(alias.name):
                    uses_library = True
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self":
            continue  # a class setting its own attribute (a test's stand-in providing one) reaches past nothing
        owner = node.value
        if node.attr in INTERNALS:
            found.append(f"{node.lineno}: .{node.attr}")
        elif node.attr in APP_INTERNALS and isinstance(owner, ast.Attribute) and owner.attr == "app":
            found.append(f"{node.lineno}: .app.{node.attr}")
        elif uses_library and _private(node.attr) and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
            found.append(f"{node.lineno}: ._{node.attr.lstrip('_')}")
    return found


def python_files() -> list[Path]:
    skipped = {".git", ".venv", "venv", "node_modules", "build", "__pycache__"}
    return [
        path for path in sorted(ROOT.rglob("*.py"))
        if not skipped.intersection(path.relative_to(ROOT).parts) and not path.name.startswith(".")
    ]


def test_no_module_but_the_adapter_uses_a_faust_or_aiokafka_internal():
    offenders = {
        str(path.relative_to(ROOT)): used
        for path in python_files()
        if path != ADAPTER and (used := internals_used(path))
    }
    assert offenders == {}, (
        "Faust/aiokafka internals outside carewatch/runners/faust/adapter.py; move them there, "
        f"each with a comment naming the upstream behaviour it works around: {offenders}"
    )


def test_the_scan_sees_the_internals_the_adapter_wraps():
    """The scan is not blind: in the adapter it finds each kind of internal it forbids elsewhere."""
    used = " ".join(internals_used(ADAPTER))
    for internal in ("import _current_event", ".set_persisted_offset", ".app.producer",
                     ".assigned_actives", ".highwater", ".spinner"):
        assert internal in used, internal
