"""Settings that give every test its own topics, consumer groups and state on the module's tansu
(the ``kafka_url`` fixture of tests/conftest.py)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import orjson

from carewatch.settings import Settings
from carewatch.cli.demo.kafka_broker import LOCAL_BROKER_SETTINGS

_names = itertools.count()


def stream_settings(kafka_url: str, workdir: Path, registry_document: dict[str, object], **overrides: object) -> Settings:
    """Settings of one isolated deployment on the shared broker: its own topics, groups and files."""
    name = f"t{next(_names)}-{uuid.uuid4().hex[:6]}"
    registry_path = workdir / "households.json"
    registry_path.write_bytes(orjson.dumps(registry_document))
    values: dict[str, object] = {
        "kafka_url": kafka_url,
        "kafka_partitions": 4,
        "kafka_topic_readings": f"{name}-readings",
        "kafka_topic_detections": f"{name}-detections",
        "kafka_topic_dead_letters": f"{name}-dead-letters",
        "kafka_topic_gateway_status": f"{name}-gateway-status",
        "stream_app_id": f"{name}-workers",
        "alerts_group_id": f"{name}-alerts",
        "stream_data_dir": workdir / "stream-data",
        "stream_commit_interval": "PT0.5S",
        "stream_sweep_interval": "PT1S",
        "stream_session_timeout": "PT6S",  # a killed worker's partitions move on quickly
        "registry_path": registry_path,
        "database_url": f"sqlite+aiosqlite:///{workdir / 'carewatch.db'}",
        "clock": "event",
        **LOCAL_BROKER_SETTINGS,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
