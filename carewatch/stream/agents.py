"""The worker's one agent: thin — decode, judge, emit (all in `HouseholdJudge`)."""

from __future__ import annotations

import faust

from carewatch.stream.households import HouseholdJudge


def register_agents(app: faust.App, readings: faust.TopicT, judge: HouseholdJudge) -> None:
    @app.agent(readings, name="judge-readings")
    async def judge_readings(stream: faust.StreamT) -> None:
        async for event in stream.events():
            # on_reading never raises: a reading it cannot judge goes to the dead-letter
            # topic with the error, instead of Faust's silent ack of a crashed event.
            await judge.on_reading(event.message)
