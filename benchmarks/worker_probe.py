"""`carewatch worker` with a loop-lag probe and a timer of the cyclic collector's passes in its process
(`benchmarks/stream_throughput.py --worker-probe FILE` starts the faust column's worker so).

Appended to FILE (``CAREWATCH_LOOP_PROBE``): every turn of the event loop missed for more than 50 ms of the loop
thread's CPU (`benchmarks/loop_lag.py`: what Faust's consumer, its heartbeats and the timers waited for), every pass
of the collector over 20 ms (wall and CPU), and at exit the longest of each, the full (generation 2) passes and how
many of them took over 50 ms of CPU.  When the worker begins to stop (its consumer stopped), the garbage cycles
among frozen objects are counted (what a freeze kept from the collector for good, with what the stop let go): one
walk of everything, after which nothing more is measured.  A measuring aid, not part of carewatch.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository's packages

import carewatch.runners.faust.worker as faust_worker  # noqa: E402 - needs the path above
from benchmarks.frozen_garbage import frozen_garbage_cycles  # noqa: E402 - needs the path above
from benchmarks.loop_lag import loop_turns  # noqa: E402 - needs the path above
from carewatch.settings import Settings  # noqa: E402 - needs the path above

STALL_S = 0.05
PASS_S = 0.02

out = open(os.environ.get("CAREWATCH_LOOP_PROBE", "worker_probe.txt"), "a", buffering=1)
seen = {"stall_cpu": 0.0, "stall_wall": 0.0, "stalls": 0, "pass": 0.0, "pass_cpu": 0.0, "full": 0, "full_over": 0}
began = [0.0, 0.0]
stopping = [False]


def timed(phase: str, info: dict[str, int]) -> None:
    if stopping[0]:
        return
    if phase == "start":
        began[:] = time.perf_counter(), time.thread_time()
        return
    took, took_cpu = time.perf_counter() - began[0], time.thread_time() - began[1]
    seen["pass"], seen["pass_cpu"] = max(seen["pass"], took), max(seen["pass_cpu"], took_cpu)
    if info["generation"] == 2:
        seen["full"] += 1
        seen["full_over"] += took_cpu > STALL_S
    if took > PASS_S:
        out.write(f"{time.monotonic():.3f} collector generation {info['generation']} {took * 1000:.1f} ms, "
                  f"CPU {took_cpu * 1000:.1f} ms\n")


async def probe() -> None:
    async for _, missed_wall, missed_cpu in loop_turns():
        if stopping[0]:
            return
        seen["stall_wall"], seen["stall_cpu"] = max(seen["stall_wall"], missed_wall), max(seen["stall_cpu"], missed_cpu)
        if missed_cpu > STALL_S:
            seen["stalls"] += 1
            out.write(f"{time.monotonic():.3f} stall CPU {missed_cpu * 1000:.1f} ms, wall {missed_wall * 1000:.1f} ms\n")


async def count_frozen_garbage(app, **kwargs) -> None:  # type: ignore[no-untyped-def]
    stopping[0] = True
    frozen = gc.get_freeze_count()
    _, found = frozen_garbage_cycles()
    size = sum(sys.getsizeof(o) for o in found)
    kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in found).most_common(8)
    out.write(f"at stop: {frozen} objects frozen; {len(found)} objects ({size / 1024:.0f} KB, their own sizes) in garbage "
              f"cycles; {seen['full']} full passes; kinds: {kinds}\n")


create_app = faust_worker.create_app


def probed_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    app = create_app(*args, **kwargs)
    app.task(probe)  # started with the app's own tasks, once its tables are recovered
    app.on_before_shutdown.connect(count_frozen_garbage)
    return app


faust_worker.create_app = probed_app
gc.callbacks.append(timed)
atexit.register(lambda: out.write(
    f"longest: loop CPU {seen['stall_cpu'] * 1000:.1f} ms, wall {seen['stall_wall'] * 1000:.1f} ms; "
    f"turns missed over 50 ms of CPU {seen['stalls']}; collector pass {seen['pass'] * 1000:.1f} ms "
    f"(CPU {seen['pass_cpu'] * 1000:.1f} ms); full passes {seen['full']}, over 50 ms of CPU {seen['full_over']}\n"
))

if __name__ == "__main__":
    faust_worker.run_worker(Settings())
