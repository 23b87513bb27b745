"""The worker's one agent: thin — take a batch of readings records (uploads), judge it (all in `HouseholdJudge`)."""

from __future__ import annotations

import faust

from carewatch.runners.faust.households import HouseholdJudge

BATCH_MAX = 200
"""Records taken together (an upload each, or one reading in the format written before uploads): one
wait for Kafka's acknowledgements per batch, not per record; `HouseholdJudge` judges a large batch
in chunks of at most `households.JUDGE_CHUNK_BYTES`.  200 uploads of 48 are ≈ 10,000 readings: a
batch of 1,000 uploads kept the other partitions waiting so long (under load) that the timer took
them for stalled and read them back from Kafka."""

BATCH_WITHIN = 0.05
"""Seconds a batch waits to fill before it is judged as it is (the most a quiet stream adds to a reading's way)."""


def register_agents(app: faust.App, readings: faust.TopicT, judge: HouseholdJudge) -> None:
    @app.agent(readings, name="judge-readings")
    async def judge_readings(stream: faust.StreamT) -> None:
        # Faust acks a batch's events only when the next batch is asked for, i.e. after
        # on_readings returned: its detections and states are acknowledged by Kafka by then.
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
            # on_readings never raises for a reading: one it cannot judge goes to the dead-letter
            # topic with the error, instead of Faust's silent ack of a crashed event.
            await judge.on_readings([event.message for event in events])
