"""What Linux's /proc says of a process, for the benchmarks that measure other processes than their own.

The scripts run standalone (`python3 benchmarks/x.py`) and are loaded by file in tests, so each puts the
repository on `sys.path` before it imports this as `benchmarks.procfs`.
"""

from __future__ import annotations

import os
from pathlib import Path


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process so far, all its threads (children not included); NaN once it
    has exited, whose CPU /proc no longer knows."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
