"""The worker's agents: thin — take a batch of readings records (uploads), judge it; take what people said
(the answers topic), tell it to the monitors (all in `HouseholdJudge`)."""

from __future__ import annotations

import faust

from carewatch.runners.faust.households import HouseholdJudge

BATCH_MAX = 1000
"""Records taken together (an upload each, or one reading in the format written before uploads): one
wait for Kafka's acknowledgements per batch, not per record; `HouseholdJudge` judges a large batch
in chunks of at most `households.JUDGE_CHUNK_BYTES`, so 1,000 uploads of 48 do not hold the event
loop for seconds.  (200 was tried: under load the stream then left a partition undelivered for a
whole sweep more often, and the timer read it back from Kafka: 900 records in each of 3 runs.)"""

BATCH_WITHIN = 0.05
"""Seconds a batch waits to fill before it is judged as it is (the most a quiet stream adds to a reading's way)."""


HEARD_MAX = 100
"""Answers-topic records taken together (a few per household and day: a batch is rarely more than one)."""


def register_agents(app: faust.App, readings: faust.TopicT, answers: faust.TopicT, judge: HouseholdJudge) -> None:
    @app.agent(readings, name="judge-readings")
    async def judge_readings(stream: faust.StreamT) -> None:
        # Faust acks a batch's events only when the next batch is asked for, i.e. after
        # on_readings returned: its detections and states are acknowledged by Kafka by then.
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
            # on_readings never raises for a reading: one it cannot judge goes to the dead-letter
            # topic with the error, instead of Faust's silent ack of a crashed event.
            await judge.on_readings([event.message for event in events])

    @app.agent(answers, name="hear-answers")
    async def hear_answers(stream: faust.StreamT) -> None:
        # The answers topic is co-partitioned with the readings (same partition count and key): Faust gives
        # this worker the same partitions of both, so the household's state it tells is in its table.
        async for events in stream.take_events(HEARD_MAX, within=BATCH_WITHIN):
            await judge.on_heard([event.message for event in events])
