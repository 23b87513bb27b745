"""The one Settings object, read from CAREWATCH_* environment variables or a .env file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carewatch.integrations import Integration, load_integrations

DEFAULT_LINK_SECRET = "development-only-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREWATCH_", env_file=".env", extra="ignore")

    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://[user:pass@]host:port of the broker; unset in the demo = embedded amqtt broker",
    )
    mqtt_client_id: str = "carewatch-ingest"
    mqtt_topic_prefix: str = "carewatch/v1"
    mqtt_keepalive: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(seconds=1))
    """The MQTT keep-alive: a broker that cannot be reached is noticed after about one and a half times this."""
    database_url: str = "sqlite+aiosqlite:///carewatch.db"
    registry_path: Path = Path("households.json")
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    max_payload_bytes: int = 256 * 1024
    """1000 readings with 64-character ids, microsecond times and every field come to about 215 KiB."""
    max_readings_per_message: int = 1000
    future_tolerance: timedelta = timedelta(minutes=10)
    """Readings stamped further ahead of the clock than this are rejected."""
    max_reading_age: timedelta | None = None
    """Readings older than this by the clock are rejected (e.g. P35D); unset: any since 2010, so replays of old data work."""
    dead_letter_retention: timedelta | None = timedelta(days=90)
    """Dead letters older than this are deleted (checked hourly); None keeps them forever."""
    usage_hourly_retention: timedelta | None = Field(default=timedelta(days=35), ge=timedelta(days=2))
    """Hourly gas and water use older than this is summed into one row per household, kind and UTC day
    (checked hourly; ≈ 6.8 KB per household per day by the hour, ≈ 0.3 KB by the day). The household page
    and ``GET /api/households/{id}/usage`` (up to 31 days) show days where hours are gone. None keeps every hour."""
    usage_daily_retention: timedelta | None = None
    """Daily use (rolled up from hours) older than this is deleted; None keeps it forever."""
    watermark_lateness: timedelta = timedelta(minutes=30)
    """How long to wait for late readings before judging an absence."""
    integrations_path: Path | None = None
    """Foreign gateways and push platforms (TOML, docs/gateways.md); unset: contract v1 gateways only."""
    integrations: tuple[Integration, ...] = ()
    """Read from ``integrations_path`` when that is set."""
    tick_every: timedelta = timedelta(minutes=5)
    clock: Literal["wall", "event"] = "wall"
    """What drives absence detection: the wall clock (production) or the newest
    event time seen (simulations and replays)."""

    # --- the duty console and the integrator API (api/) ---
    session_lifetime: timedelta = timedelta(hours=13)
    """How long a console sign-in lasts: a night shift and its hand-over."""
    cookie_secure: bool = True
    """Send the console's cookies over HTTPS only. Turn off only to sign in over plain http on a
    development machine (`carewatch demo` does so itself)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (JSON list,
    e.g. ["10.0.0.5"]); unset: none, the connecting address is the client (the login limit counts it)."""
    metrics_public: bool = True
    """Serve Prometheus metrics at the console's /metrics without sign-in (counts only, no names); false: 404
    there, for a console port reachable from outside (scrape a worker's metrics_port instead)."""
    metrics_port: int | None = None
    """`carewatch worker` and `carewatch ingest` serve Prometheus metrics on this port of http_host; unset: none."""
    login_max_failures_per_user: int = 5
    login_max_failures_per_client: int = 20
    login_window: timedelta = timedelta(minutes=15)
    """Failed sign-ins beyond the maxima within this window are refused (HTTP 429) until it passes."""
    board_poll_interval: timedelta = timedelta(seconds=1)
    """How often the live alert board looks for changes for each connected console."""
    mosquitto_password_file: Path | None = None
    """Where the API writes gateways' MQTT credentials (Mosquitto password_file); unset: not written."""
    mosquitto_acl_file: Path | None = None
    mosquitto_pid_file: Path | None = None
    """The broker's pid file: it is sent SIGHUP to reload credentials after a change."""
    mqtt_ingest_username: str = "carewatch-ingest"
    """The MQTT user the ACL lets read every gateway's topics."""

    # --- the scaled-out path: MQTT → Kafka bridge, Faust workers, alert service (deploy/README.md) ---
    kafka_url: str | None = Field(
        default=None,
        description="kafka://host:port[,host:port...] of the cluster; unset in `demo --engine faust` = a local broker",
    )
    kafka_partitions: int = Field(default=8, ge=1, description="partitions of every carewatch topic: the most workers that share the work")
    kafka_replication: int = Field(default=1, ge=1, description="replication factor of carewatch topics (3 on a production cluster)")
    kafka_topic_readings: str = "carewatch-readings"
    kafka_topic_detections: str = "carewatch-detections"
    kafka_topic_dead_letters: str = "carewatch-dead-letters"
    kafka_topic_gateway_status: str = "carewatch-gateway-status"
    kafka_producer_batch_bytes: int = Field(default=16384, ge=1)
    """Largest record batch a producer sends (aiokafka max_batch_size). The local tansu broker gets 1
    (one record per batch): its memory engine reports end offsets as a count of batches."""
    mqtt_session_expiry: timedelta | None = timedelta(days=2)
    """How long the MQTT broker keeps the bridge's session (and its unacknowledged messages) while it is down
    (MQTT 5); None: an MQTT 3.1.1 persistent session, for brokers without MQTT 5."""
    stream_app_id: str = "carewatch"
    """Faust application id: the consumer group of the workers and the prefix of their changelog topics."""
    stream_store: str = "memory://"
    """Where a worker keeps its tables: memory:// (recovered from the changelog at start) or rocksdb:// (pip install 'carewatch[rocksdb]')."""
    stream_data_dir: Path = Path("carewatch-stream-data")
    stream_commit_interval: timedelta = timedelta(seconds=1)
    """How often workers commit consumer offsets (a crash redoes at most this much work)."""
    stream_session_timeout: timedelta = timedelta(seconds=30)
    """A worker silent this long (crashed, partitioned) loses its partitions to the others."""
    stream_sweep_interval: timedelta = timedelta(seconds=10)
    """Wall-clock period of the absence sweep over the tables (silent meters)."""
    alerts_group_id: str = "carewatch-alerts"

    # --- the readings archive in InfluxDB (ingest/archive.py, docs/archive.md) ---
    influx_url: str | None = None
    """InfluxDB (v2 write API) that accepted readings are archived to, e.g. http://influx:8086; unset: no archive."""
    influx_token: str | None = None
    influx_org: str | None = None
    influx_bucket: str | None = None

    # --- notifications: the escalation ladder and its channels (alerts/, docs/notifications.md) ---
    environment: Literal["development", "production"] = "production"
    """Production (the default) refuses to start with the development secret for family links;
    development must be asked for (CAREWATCH_ENVIRONMENT=development; `carewatch demo` does)."""
    people_path: Path | None = None
    """Who is told: elders, families, duty rota (JSON or TOML); unset: no notifications, and the log says so."""
    escalation_policy_path: Path | None = None
    """The escalation ladders (TOML or JSON); unset: the shipped alerts/default_policy.toml."""
    link_secret: str = DEFAULT_LINK_SECRET
    """Signs the links in messages to families; set a long random value outside development."""
    public_base_url: str | None = None
    """Where family links point (e.g. https://care.example.cn); unset: http://HTTP_HOST:HTTP_PORT."""
    family_link_max_age: timedelta = timedelta(hours=72)
    smtp_host: str | None = None
    """Unset: no email channel."""
    smtp_port: int = 25
    smtp_sender: str = "carewatch@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_provider_url: str | None = None
    """The HTTP SMS provider's endpoint (docs/notifications.md); unset: no SMS channel."""
    voice_provider_url: str | None = None
    provider_token: str | None = None
    """Bearer token for the SMS and voice provider."""
    webhook_secret: str | None = None
    """HMAC-SHA256 key of the signed integrator webhook; unset: no webhook channel."""
    dispatch_every: timedelta = timedelta(seconds=1)
    escalate_every: timedelta = timedelta(seconds=5)
    """How often the escalator looks for due steps (on the ladder's clock: simulated time in the demo)."""
    delivery_give_up_after: timedelta = timedelta(hours=24)
    """A message still failing after this long is marked failed (visible on /notifications)."""
    catcher_dir: Path | None = None
    """Demo only: where the local catchers keep what they received (mail/ as a Maildir, http.jsonl); shown on /notifications."""

    @model_validator(mode="after")
    def _read_integrations(self) -> Settings:
        if self.integrations_path is not None:
            self.integrations = load_integrations(self.integrations_path)
        return self

    @model_validator(mode="after")
    def _archive_complete(self) -> Settings:
        if self.influx_url is not None:
            missing = [f"CAREWATCH_INFLUX_{n.upper()}" for n in ("token", "org", "bucket") if not getattr(self, f"influx_{n}")]
            if missing:
                raise ValueError(f"CAREWATCH_INFLUX_URL is set, so the archive is on, but {', '.join(missing)} is not: set it too")
        return self

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.link_secret == DEFAULT_LINK_SECRET:
            raise ValueError(
                "CAREWATCH_LINK_SECRET is not set (or is the development default), so anyone could forge family links; "
                "set a long random value, made with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))' "
                "(or CAREWATCH_ENVIRONMENT=development on a development machine)"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
