"""`carewatch run` with a loop-lag probe in its event loop (`benchmarks/city.py --loop-probe FILE` starts it so).

A task sleeping 1 ms at a time measures the CPU the event loop's thread spent between two of its turns (what
our code held the loop for: the API and MQTT's hand-off waited as long; CPU, so a shared machine's preemption
is left out) and the wall time; every turn missed for more than 50 ms of CPU is written to FILE
(``CAREWATCH_LOOP_PROBE``) with the pipeline's progress, with every pass of the cyclic garbage collector over
20 ms, and at exit the longest of each.  With ``LOOP_PROBE_SAMPLE=1`` a thread also samples the loop thread's
stack every millisecond (as often as the interpreter lets it have the GIL: every few ms while the loop runs Python)
and each stall is followed by where those samples fell: the innermost carewatch frames, and the innermost frame.
A measuring aid, not part of carewatch.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import sys
import threading
import time
from collections import Counter, deque

import carewatch.runners.embedded.pipeline as embedded

STALL_S = 0.05
PASS_S = 0.02

out = open(os.environ.get("CAREWATCH_LOOP_PROBE", "loop_probe.txt"), "a", buffering=1)
longest = {"cpu": 0.0, "wall": 0.0, "collector": 0.0}
passes: list[float] = [0.0]
samples: deque[tuple[float, str]] = deque(maxlen=20000)
OURS = ("/carewatch/", "/ingest/", "/alerts/", "/detectors/")


def where(frame) -> str:  # type: ignore[no-untyped-def]
    """The innermost frame, then up to three of ours above it (file:line function)."""
    leaf, ours = f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_code.co_name}", []
    while frame is not None and len(ours) < 3:
        name = frame.f_code.co_filename
        if any(part in name for part in OURS) and "loop_probe" not in name:
            ours.append(f"{name.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return f"{leaf} <- " + " <- ".join(ours)


def sampler(loop_thread: int) -> None:
    while True:
        time.sleep(0.001)
        frame = sys._current_frames().get(loop_thread)
        if frame is not None:
            samples.append((time.perf_counter(), where(frame)))


def during(start: float) -> str:
    seen = Counter(place for at, place in list(samples) if at >= start)
    total = sum(seen.values()) or 1
    return "".join(f"    {n * 100 // total:3d} % {place}\n" for place, n in seen.most_common(6))


def collector(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        passes[0] = time.perf_counter()
        return
    took = time.perf_counter() - passes[0]
    longest["collector"] = max(longest["collector"], took)
    if took > PASS_S:
        out.write(f"{time.monotonic():.3f} collector generation {info['generation']} {took * 1000:.1f} ms\n")


async def probe(pipeline: embedded.Pipeline) -> None:
    while True:
        wall, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.001)
        missed_wall, missed_cpu = time.perf_counter() - wall - 0.001, time.thread_time() - cpu
        longest["wall"], longest["cpu"] = max(longest["wall"], missed_wall), max(longest["cpu"], missed_cpu)
        if missed_cpu > STALL_S:
            out.write(f"{time.monotonic():.3f} stall CPU {missed_cpu * 1000:.1f} ms, wall {missed_wall * 1000:.1f} ms; "
                      f"messages {pipeline.messages_seen}, batch under way {pipeline.busy}, states {len(pipeline.states)}\n"
                      + (during(wall) if sampling else ""))


consume = embedded.Pipeline.consume
sampling = os.environ.get("LOOP_PROBE_SAMPLE") == "1"


async def probed(self: embedded.Pipeline, subscriber) -> None:  # type: ignore[no-untyped-def]
    asyncio.get_running_loop().create_task(probe(self))
    gc.callbacks.append(collector)
    if sampling:
        threading.Thread(target=sampler, args=(threading.get_ident(),), daemon=True, name="loop-sampler").start()
    await consume(self, subscriber)


embedded.Pipeline.consume = probed  # type: ignore[method-assign]
atexit.register(lambda: out.write(
    f"longest: loop CPU {longest['cpu'] * 1000:.1f} ms, wall {longest['wall'] * 1000:.1f} ms, "
    f"collector pass {longest['collector'] * 1000:.1f} ms\n"
))

if __name__ == "__main__":
    from carewatch.cli import app

    app()
