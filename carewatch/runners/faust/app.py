"""The Faust application: topics, the state table, the agents and the timer, wired together.

Run it with `carewatch worker`; start as many workers as there are partitions at most.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable
from typing import Any

import faust

from carewatch.kafka import answers_topic, bootstrap_servers, faust_broker, kafka_url, read_range, summaries_topic
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.faust.adapter import send_raw
from carewatch.runners.faust.agents import register_agents
from carewatch.runners.faust.households import HouseholdJudge
from carewatch.runners.faust.tables import ChangelogTable, household_state_table
from carewatch.runners.faust.timers import register_timers

log = logging.getLogger(__name__)

ASSIGNED = "holding readings partitions"
"""Logged (INFO) at every assignment: operators and tests see which worker judges which households."""


def create_app(settings: Settings, registry: Registry) -> faust.App:
    app = faust.App(
        settings.stream_app_id,
        broker=faust_broker(kafka_url(settings)),
        store=settings.stream_store,
        datadir=str(settings.stream_data_dir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication,
        broker_commit_interval=settings.stream_commit_interval.total_seconds(),
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.stream_session_timeout.total_seconds(),
        broker_heartbeat_interval=min(3.0, settings.stream_session_timeout.total_seconds() / 4),
        producer_acks=-1,
        producer_max_batch_size=settings.kafka_producer_batch_bytes,
        web_enabled=False,
    )

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    readings = raw_topic(settings.kafka_topic_readings)
    answers = raw_topic(answers_topic(settings))

    def sender(topic: str):  # type: ignore[no-untyped-def]
        async def send(key: bytes, value: bytes) -> Awaitable[Any]:
            # handed to the producer; what it returns resolves once Kafka acknowledged (acks=all), and
            # HouseholdJudge waits for that before the state moves on
            return await send_raw(app, topic, key, value)

        return send

    judge = HouseholdJudge(
        registry=registry,
        settings=settings,
        table=ChangelogTable(household_state_table(app, settings)),
        send_detection=sender(settings.kafka_topic_detections),
        send_dead_letter=sender(settings.kafka_topic_dead_letters),
        send_summary=sender(summaries_topic(settings)),
        read_range=functools.partial(read_range, bootstrap_servers(kafka_url(settings)), settings.kafka_topic_readings),
    )
    register_agents(app, readings, answers, judge)
    register_timers(app, judge, settings)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[Any], **kwargs: Any) -> None:
        judge.progress.forget([tp.partition for tp in revoked if tp.topic == settings.kafka_topic_readings])

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set[Any], **kwargs: Any) -> None:
        judge.progress.started_from.clear()  # committed offsets may have moved meanwhile: asked again by the timer
        log.info("%s %s", ASSIGNED, sorted(tp.partition for tp in assigned if tp.topic == settings.kafka_topic_readings))

    app.judge = judge  # type: ignore[attr-defined]  (for status and tests in the same process)
    return app
