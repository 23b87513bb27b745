"""How long the event loop keeps a task waiting: one probe for the benchmarks that run carewatch's loop.

A task sleeping 1 ms at a time sees every turn of the loop; what it waits beyond the 1 ms is what any
client of the loop (the API, MQTT's hand-off) waited as long.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


async def loop_turns() -> AsyncIterator[tuple[float, float, float]]:
    """Forever, each turn as the sleeping task sees it: when it began to sleep (`time.perf_counter`), the wall
    time it waited beyond the 1 ms (preemption on a shared machine included), and the loop thread's CPU time
    meanwhile (what our code held the loop for)."""
    while True:
        began, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(0.001)
        yield began, time.perf_counter() - began - 0.001, time.thread_time() - cpu


class LoopLag:
    """The longest turn (`loop_turns`) while entered, in wall time and in the loop thread's CPU time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_cpu = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        async for _, wall, cpu in loop_turns():
            self.longest = max(self.longest, wall)
            self.longest_cpu = max(self.longest_cpu, cpu)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def longest_turn(work: Awaitable[T]) -> tuple[T, float]:
    """Await ``work`` under a `LoopLag`: its result, and the most CPU the loop's thread spent between two turns of the
    probe meanwhile (how long the loop kept everything else waiting).  CPU, not wall time: on a shared machine the
    process is also preempted, which no code of ours can prevent."""
    with LoopLag() as lag:
        await asyncio.sleep(0.01)  # the probe is running
        result = await work
        await asyncio.sleep(0.005)
    return result, lag.longest_cpu


@dataclass(frozen=True)
class Measured(Generic[T]):
    """What `stall_while` saw: the work's result, the longest turn's CPU (`LoopLag.longest_cpu`), the loop thread's CPU in all."""

    result: T
    longest_cpu: float
    cpu: float


async def stall_while(work: Awaitable[T]) -> Measured[T]:
    """`longest_turn` of ``work``, with what existed before frozen out of the collector's full passes (as the
    runners freeze what they start with): a full pass over a test session's objects is no stall of the code's."""
    gc.collect()
    gc.freeze()
    try:
        began = time.thread_time()
        result, longest_cpu = await longest_turn(work)
        return Measured(result, longest_cpu, time.thread_time() - began)
    finally:
        gc.unfreeze()
