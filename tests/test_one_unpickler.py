"""Pickle is read in one place: the runners' household-state record (`carewatch.runners.state.loads`).

Unpickling runs code chosen by whoever wrote the bytes, so where it happens is kept to the one reader
of what carewatch's own runners wrote (issue 10); tests may round-trip freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNPICKLERS = {"loads", "load", "Unpickler"}


def unpickling_calls(source: str) -> int:
    """How many times a module calls ``pickle.loads``/``pickle.load``/``pickle.Unpickler``.

    >>> unpickling_calls("import pickle\\nx = pickle.loads(b'')\\ny = pickle.dumps(x)")
    1
    """
    return sum(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in UNPICKLERS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "pickle"
        for node in ast.walk(ast.parse(source))
    )


def test_only_the_household_state_record_unpickles():
    places = {
        path.relative_to(ROOT).as_posix(): calls
        for path in ROOT.rglob("*.py")
        if not {"tests", ".git", "build"} & set(path.relative_to(ROOT).parts)
        and not any(part.startswith(".") or part.endswith(".egg-info") for part in path.relative_to(ROOT).parts)
        and (calls := unpickling_calls(path.read_text(encoding="utf-8")))
    }
    assert places == {"carewatch/runners/state.py": 1}
