"""The headless demo's lockstep hands the pipeline each upload step as one batch, once all of it has arrived, and
knows the step is judged when the pipeline comes back for more (carewatch/cli/demo/lockstep.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

from carewatch.cli.demo.lockstep import StepIntake
from ingest.subscriber import InboundMessage, MqttSubscriber


class Inbox:
    """The subscriber's side the intake uses: the inbox, batches as they come, acknowledgements."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[InboundMessage] = asyncio.Queue()
        self.acked: list[int] = []

    async def next_batch(self, max_messages: int, wait: float | None = None) -> list[InboundMessage]:
        batch = [await asyncio.wait_for(self.inbox.get(), wait)]
        while len(batch) < max_messages and not self.inbox.empty():
            batch.append(self.inbox.get_nowait())
        return batch

    def ack(self, message: InboundMessage) -> None:
        self.acked.append(message.mid)

    def arrive(self, *mids: int) -> None:
        for mid in mids:
            self.inbox.put_nowait(InboundMessage("carewatch/gateways/gw-0001/readings", b"{}", mid, 1, datetime.now(UTC)))


async def test_a_step_is_one_batch_however_its_messages_trickle_in():
    subscriber = Inbox()
    intake = StepIntake(cast(MqttSubscriber, subscriber))
    subscriber.arrive(1, 2)
    assert await intake.next_batch(1000, wait=0.01) == [], "nothing is taken before the step is let in"

    judged = intake.let_in(4)
    taking = asyncio.create_task(intake.next_batch(1000, wait=0.01))
    await asyncio.sleep(0.01)
    assert not taking.done(), "two of the step's four messages are not there yet"
    subscriber.arrive(3)
    await asyncio.sleep(0)
    subscriber.arrive(4)
    assert [m.mid for m in await taking] == [1, 2, 3, 4]

    assert not judged.done(), "the pipeline has not come back: the batch is being judged"
    waiting = asyncio.create_task(intake.next_batch(1000, wait=0.05))
    await asyncio.sleep(0)
    assert judged.done()
    assert await waiting == [], "nothing more until the next step is let in"


async def test_a_step_larger_than_a_batch_is_handed_over_in_batches_before_it_counts_as_judged():
    subscriber = Inbox()
    intake = StepIntake(cast(MqttSubscriber, subscriber))
    subscriber.arrive(1, 2, 3)
    judged = intake.let_in(3)
    assert [m.mid for m in await intake.next_batch(2)] == [1, 2]
    assert [m.mid for m in await intake.next_batch(2)] == [3]
    assert not judged.done()
    assert await intake.next_batch(2, wait=0.01) == []
    assert judged.done()
