"""`carewatch run` with a loop-lag probe in its event loop (`benchmarks/city.py --loop-probe FILE` starts it so).

A task sleeping 1 ms at a time measures the CPU the event loop's thread spent between two of its turns (what
our code held the loop for: the API and MQTT's hand-off waited as long; CPU, so a shared machine's preemption
is left out) and the wall time; every turn missed for more than 50 ms of CPU is written to FILE
(``CAREWATCH_LOOP_PROBE``) with the pipeline's progress, with every pass of the cyclic garbage collector over
20 ms, and at exit the longest of each.  A measuring aid, not part of carewatch.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import time

import carewatch.runners.embedded.pipeline as embedded

STALL_S = 0.05
PASS_S = 0.02

out = open(os.environ.get("CAREWATCH_LOOP_PROBE", "loop_probe.txt"), "a", buffering=1)
longest = {"cpu": 0.0, "wall": 0.0, "collector": 0.0}
passes: list[float] = [0.0]


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
                      f"messages {pipeline.messages_seen}, batch under way {pipeline.busy}, states {len(pipeline.states)}\n")


consume = embedded.Pipeline.consume


async def probed(self: embedded.Pipeline, subscriber) -> None:  # type: ignore[no-untyped-def]
    asyncio.get_running_loop().create_task(probe(self))
    gc.callbacks.append(collector)
    await consume(self, subscriber)


embedded.Pipeline.consume = probed  # type: ignore[method-assign]
atexit.register(lambda: out.write(
    f"longest: loop CPU {longest['cpu'] * 1000:.1f} ms, wall {longest['wall'] * 1000:.1f} ms, "
    f"collector pass {longest['collector'] * 1000:.1f} ms\n"
))

if __name__ == "__main__":
    from carewatch.cli import app

    app()
