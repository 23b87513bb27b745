"""The headless demo's lockstep: each upload step judged in one batch, then the ladder's turn, then the next step.

Free-running, the escalator read the ladder clock (the newest reading judged) every 0.25 s while the simulation ran
hours ahead of it (steps late, reminders merged, the rota read at the wrong hour) and the detectors closed alerts
before the dispatcher had looked: the notifications counted changed from run to run (docs/notifications.md, "The
headless demo's ladder"). In lockstep what the ladder does depends on the simulated time reached, not on how fast
the machine is.

The pipeline takes a step only once all of it is in the inbox (`StepIntake`): taken as it trickled in, a step made
two or three batches, each a commit of its own and every touched household's state pickled again (the 3-day,
50-household demo: ≈ 730 batches for 289 steps, a quarter more CPU than one batch a step).
"""

from __future__ import annotations

import asyncio

from carewatch.runners.embedded.pipeline import RunningSystem
from gateway_sim import StepPublished
from ingest.subscriber import InboundMessage, MqttSubscriber

STEP_TIMEOUT_S = 120.0
"""How long a step may take to reach the pipeline and be judged (the drain's own limit)."""


class StepIntake:
    """The pipeline's intake in lockstep: nothing until a step is let in (`let_in`), then the step as one batch
    once all its messages have arrived; the pipeline asking for more means the step is judged and committed."""

    def __init__(self, subscriber: MqttSubscriber) -> None:
        self.subscriber = subscriber
        self.inbox = subscriber.inbox
        self.let_in_total = 0
        """Messages the subscriber has been sent in the steps let in so far."""
        self.handed_over = 0
        """Messages handed to the pipeline so far."""
        self._let_in = asyncio.Event()
        self._judged: asyncio.Future[None] | None = None

    def let_in(self, messages: int) -> asyncio.Future[None]:
        """Let the pipeline take every message up to the ``messages``-th sent to the subscriber; the future is done
        when it has judged and committed them."""
        self.let_in_total = messages
        self._judged = asyncio.get_running_loop().create_future()
        self._let_in.set()
        return self._judged

    async def next_batch(self, max_messages: int, wait: float | None = None) -> list[InboundMessage]:
        """(The pipeline's side.) The step let in, at most ``max_messages`` of it; [] if none is let in ``wait`` s."""
        if self.handed_over >= self.let_in_total:
            if self._judged is not None and not self._judged.done():
                self._judged.set_result(None)  # back for more: the batch before is committed
            self._let_in.clear()
            try:
                await asyncio.wait_for(self._let_in.wait(), wait)
            except TimeoutError:
                return []
        batch: list[InboundMessage] = []
        while self.handed_over + len(batch) < self.let_in_total and len(batch) < max_messages:
            batch += await self.subscriber.next_batch(max_messages - len(batch))  # as soon as one more has arrived
        if not self.inbox.empty() and len(batch) < max_messages:  # sent to us but not counted (a reconnect's status)
            batch += await self.subscriber.next_batch(max_messages - len(batch))
        self.handed_over += len(batch)
        return batch

    def ack(self, message: InboundMessage) -> None:
        self.subscriber.ack(message)


async def judge_step(system: RunningSystem, step: StepPublished) -> None:
    """Between two upload steps: the step judged and committed in one batch, then the ladder's steps due by its
    clock (the newest reading judged) run and their messages are sent, before the next step is published."""
    intake = system.intake
    assert isinstance(intake, StepIntake) and system.notifications is not None
    judged = intake.let_in(step.messages)
    done, _ = await asyncio.wait({judged, system.consumer}, timeout=STEP_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
    if system.consumer in done:
        system.consumer.result()  # re-raise what stopped the pipeline
        raise RuntimeError("the pipeline stopped")
    if not done:
        raise TimeoutError(
            f"the step at {step.at:%Y-%m-%d %H:%M} was not judged within {STEP_TIMEOUT_S:.0f} s: the pipeline was handed "
            f"{intake.handed_over} of the {step.messages} messages sent so far (has the broker lost some?)"
        )
    await system.drain(step.readings)  # at once: every reading of the step is in the batch judged
    await system.notifications.catch_up(system.sessions)
