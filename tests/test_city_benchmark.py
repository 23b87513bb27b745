"""benchmarks/city.py runs end to end on a small city (the embedded engine) and prints every figure it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.service, pytest.mark.heavy]


def test_a_small_city_through_the_embedded_engine_prints_its_figures():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "city.py"), "--households", "200", "--paths", "embedded",
         "--sample", "0.2", "--timeout", "120"],
        capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "failed" not in out, out
    figures = re.search(r"embedded +200 households: (\d+) readings .* judged ([\d,]+) readings/s", out)
    assert figures and int(figures[1]) > 10_000 and int(figures[2].replace(",", "")) > 0, out
    for figure in ("lag publish → judged p50", "peak RSS MB: run", "start-up", "restart", "MB per simulated day", "µs/reading"):
        assert figure in out, (figure, out)
