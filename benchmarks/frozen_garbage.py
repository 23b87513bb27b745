"""What a freeze kept from the cyclic collector for good: the garbage cycles among frozen objects (a measuring aid
for the probes, `benchmarks/loop_probe.py` and `benchmarks/worker_probe.py`)."""

from __future__ import annotations

import gc
from collections.abc import Callable


def frozen_garbage_cycles(unfreeze: Callable[[], None] = gc.unfreeze) -> tuple[int, list[object]]:
    """Everything unfrozen, and the objects of the garbage cycles a full pass then finds, kept for the caller to look
    at (``gc.DEBUG_SAVEALL``) instead of freed; the young garbage (not frozen) is collected first and only counted.
    One walk of everything: a measurement, not a probe.  Returns (young garbage collected, the objects found)."""
    young = gc.collect()
    unfreeze()
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(flags)
    return young, found
