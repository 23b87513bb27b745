"""Work that runs on a shared event loop a slice at a time, so that nothing else waits long for its turn.

Issue 13: no pause of ingest or the API longer than 50 ms.  A consumer that judges, ticks or writes a batch of a
night's uploads (≈ 50,000 readings, seconds of CPU) looks at the time between pieces of its work and gives the loop
a turn once its slice is used up: the API, MQTT's hand-off and the probes of the stall tests are served meanwhile.
"""

from __future__ import annotations

import asyncio
import time

SLICE_S = 0.005
"""How long one slice of work may run before the event loop gets a turn (a collector's full pass, 10–25 ms over a night
bunch's batch, may fall inside one: the shorter the slice, the shorter that turn)."""


class Slices:
    """Work done a piece at a time that lets the event loop have a turn once it has run for SLICE_S.

    One per consumer, shared by all it does in turn (the embedded runner's `Pipeline.slices`, a Faust worker's
    `HouseholdJudge.slices`): judging a batch, then committing it, each with its own budget, ran two slices without a
    turn between them (20 ms turns of 10 ms slices)."""

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until = time.perf_counter() + SLICE_S

    def used_up(self) -> bool:
        """Whether this slice has run its SLICE_S (a caller that cannot await stops here and comes back)."""
        return time.perf_counter() >= self._until

    async def turn(self) -> None:
        """Between two pieces: the loop's turn, if this slice is used up."""
        if self.used_up():
            await self.give_turn()

    async def give_turn(self) -> None:
        """The loop's turn now (after work that could not look at the time), then a new slice: everything else
        the event loop has ready runs before the caller goes on.

        Three times ``sleep(0)``: a task that yields once is queued ahead of what became ready while it ran (timers due,
        sockets readable: the loop appends their callbacks after it); a timer's callback only resolves a future, whose
        task is then queued behind the caller's second yield.  After the third it has run: with two, a task sleeping
        on a timer waited two slices (the stall tests' probe saw 21 ms turns of 10 ms slices)."""
        for _ in range(3):
            await asyncio.sleep(0)
        self._until = time.perf_counter() + SLICE_S
