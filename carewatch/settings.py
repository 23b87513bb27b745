"""The one Settings object, read from CAREWATCH_* environment variables or a .env file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREWATCH_", env_file=".env", extra="ignore")

    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host:port of the broker; unset in the demo = embedded amqtt broker",
    )
    mqtt_client_id: str = "carewatch-ingest"
    mqtt_topic_prefix: str = "carewatch/v1"
    database_url: str = "sqlite+aiosqlite:///carewatch.db"
    registry_path: Path = Path("households.json")
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    max_payload_bytes: int = 64 * 1024
    max_readings_per_message: int = 1000
    future_tolerance: timedelta = timedelta(minutes=10)
    """Readings stamped further ahead of the clock than this are rejected."""
    watermark_lateness: timedelta = timedelta(minutes=30)
    """How long to wait for late readings before judging an absence."""
    tick_every: timedelta = timedelta(minutes=5)
    clock: Literal["wall", "event"] = "wall"
    """What drives absence detection: the wall clock (production) or the newest
    event time seen (simulations and replays)."""


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
