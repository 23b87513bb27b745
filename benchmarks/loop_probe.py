"""`carewatch run` with a loop-lag probe in its event loop (`benchmarks/city.py --loop-probe FILE` starts it so).

A task sleeping 1 ms at a time measures the CPU the event loop's thread spent between two of its turns (what
our code held the loop for: the API and MQTT's hand-off waited as long; CPU, so a shared machine's preemption
is left out) and the wall time; every turn missed for more than 50 ms of CPU is written to FILE
(``CAREWATCH_LOOP_PROBE``) with the pipeline's progress, with every pass of the cyclic garbage collector over
20 ms, and at exit the longest of each.  With ``LOOP_PROBE_SAMPLE=1`` a thread also samples the loop thread's
stack every millisecond (as often as the interpreter lets it have the GIL: every few ms while the loop runs Python)
and each stall is followed by where those samples fell: the innermost carewatch frames, and the innermost frame.
Collector passes are timed in wall and CPU time, and the full (generation 2) passes counted.  The garbage cycles
that a freeze kept from the collector are counted at stop (as `running_system` unfreezes) and, with
``LOOP_PROBE_LEAK_AT=N[,M…]``, once N messages are judged (a walk of everything: the turn it takes is not reported).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository's packages

import carewatch.runners.embedded.pipeline as embedded  # noqa: E402 - needs the path above
from benchmarks.loop_lag import loop_turns  # noqa: E402 - needs the path above
from benchmarks.frozen_garbage import frozen_garbage_cycles  # noqa: E402 - needs the path above

STALL_S = 0.05
PASS_S = 0.02

out = open(os.environ.get("CAREWATCH_LOOP_PROBE", "loop_probe.txt"), "a", buffering=1)
longest = {"cpu": 0.0, "wall": 0.0, "collector": 0.0, "collector_cpu": 0.0}
full_passes = [0]
passes: list[float] = [0.0, 0.0]
samples: deque[tuple[float, str]] = deque(maxlen=20000)
OURS = ("/carewatch/", "/ingest/", "/alerts/", "/detectors/")


def where(frame) -> str:  # type: ignore[no-untyped-def]
    """The innermost frame, then up to three of ours above it (file:line function)."""
    leaf, ours = f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_code.co_name}", []
    while frame is not None and len(ours) < 3:
        name = frame.f_code.co_filename
        if any(part in name for part in OURS) and "loop_probe" not in name and "loop_lag" not in name:
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
        passes[:] = time.perf_counter(), time.thread_time()
        return
    took, took_cpu = time.perf_counter() - passes[0], time.thread_time() - passes[1]
    if measuring[0]:
        return
    longest["collector"] = max(longest["collector"], took)
    longest["collector_cpu"] = max(longest["collector_cpu"], took_cpu)
    full_passes[0] += info["generation"] == 2
    if took > PASS_S:
        out.write(f"{time.monotonic():.3f} collector generation {info['generation']} {took * 1000:.1f} ms, CPU {took_cpu * 1000:.1f} ms\n")


async def probe(pipeline: embedded.Pipeline) -> None:
    async for began, missed_wall, missed_cpu in loop_turns():
        if measured[0]:  # the turn a measurement of frozen garbage took: the probe's own, not carewatch's
            measured[0] = False
            continue
        longest["wall"], longest["cpu"] = max(longest["wall"], missed_wall), max(longest["cpu"], missed_cpu)
        if missed_cpu > STALL_S:
            out.write(f"{time.monotonic():.3f} stall CPU {missed_cpu * 1000:.1f} ms, wall {missed_wall * 1000:.1f} ms; "
                      f"messages {pipeline.messages_seen}, batch under way {pipeline.busy}, states {len(pipeline.states)}\n"
                      + (during(began) if sampling else ""))


consume = embedded.Pipeline.consume
sampling = os.environ.get("LOOP_PROBE_SAMPLE") == "1"


async def probed(self: embedded.Pipeline, subscriber) -> None:  # type: ignore[no-untyped-def]
    asyncio.get_running_loop().create_task(probe(self))
    gc.callbacks.append(collector)
    if os.environ.get("LOOP_PROBE_LEAK_AT"):
        asyncio.get_running_loop().create_task(leak_check(self, [int(n) for n in os.environ["LOOP_PROBE_LEAK_AT"].split(",")]))
    if sampling:
        threading.Thread(target=sampler, args=(threading.get_ident(),), daemon=True, name="loop-sampler").start()
    await consume(self, subscriber)


unfreeze = gc.unfreeze
measuring = [False]
measured = [False]


def frozen_garbage() -> str:
    """Unfreeze and count the garbage cycles that were frozen (what a freeze kept from the collector for good), and
    their kinds; the young garbage is collected first, apart.  One walk of everything: a measurement, not a probe."""
    measuring[0] = True
    try:
        young, found = frozen_garbage_cycles(unfreeze)
        kept = len(found)
        size = sum(sys.getsizeof(o) for o in found)
        kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in found).most_common(12)
        functions = Counter(
            f"{o.__code__.co_filename.rsplit('/', 2)[-1]}:{o.__qualname__}" for o in found if type(o).__name__ == "function"
        ).most_common(5)
        del found
        gc.collect()
    finally:
        measuring[0], measured[0] = False, True
    return f"{kept} objects ({size / 1024:.0f} KB, their own sizes) were frozen garbage cycles ({young} young garbage apart); {full_passes[0]} full passes so far; kinds: {kinds}; functions: {functions}"


def counted_unfreeze() -> None:
    """At stop (`running_system` unfreezes last): the frozen garbage cycles, including what the stop let go."""
    out.write(f"at stop: {frozen_garbage()}\n")


async def leak_check(pipeline: embedded.Pipeline, at_messages: list[int]) -> None:
    """While running (``LOOP_PROBE_LEAK_AT``: messages judged, comma-separated): the frozen garbage cycles so far,
    then everything frozen again (so the next check counts what became garbage since)."""
    for at in at_messages:
        while pipeline.messages_seen < at:
            await asyncio.sleep(0.5)
        out.write(f"{time.monotonic():.3f} at {pipeline.messages_seen} messages: {frozen_garbage()}\n")
        gc.freeze()


embedded.Pipeline.consume = probed  # type: ignore[method-assign]
gc.unfreeze = counted_unfreeze  # type: ignore[assignment]
atexit.register(lambda: out.write(
    f"longest: loop CPU {longest['cpu'] * 1000:.1f} ms, wall {longest['wall'] * 1000:.1f} ms, "
    f"collector pass {longest['collector'] * 1000:.1f} ms (CPU {longest['collector_cpu'] * 1000:.1f} ms); full passes {full_passes[0]}\n"
))

if __name__ == "__main__":
    from carewatch.cli import app

    app()
