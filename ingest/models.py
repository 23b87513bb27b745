"""What ingest keeps: the dead-letter record, unknown meters, gateway status, counters, household summaries and meter health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime


class DeadLetter(Base):
    """A payload or a single reading we could not accept, with the reason, kept verbatim."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(256))
    gateway_id: Mapped[str | None] = mapped_column(String(64), index=True)
    meter_id: Mapped[str | None] = mapped_column(String(64))
    reading_index: Mapped[int | None] = mapped_column(Integer)
    """Position of the rejected reading in the batch; None when the whole payload was refused."""
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class UnknownMeter(Base):
    """Meters that report but are not in the registry: a list for provisioning."""

    __tablename__ = "unknown_meters"

    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway_id: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    readings: Mapped[int] = mapped_column(BigInteger, default=0)


class GatewayStatus(Base):
    """The last retained status each gateway published (online, or offline by its last will)."""

    __tablename__ = "gateway_status"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GatewaySequence(Base):
    """Each gateway's message counter as carewatch followed it (contract v1.1 ``seq``; ingest.gaps):
    messages missing, counter resets and duplicates, committed with the batch that saw them."""

    __tablename__ = "gateway_sequences"

    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    highest_seq: Mapped[int] = mapped_column(BigInteger)
    open_gaps: Mapped[str] = mapped_column(Text)
    """JSON list of [first, last] ranges still within the reorder window."""
    messages_missing: Mapped[int] = mapped_column(BigInteger)
    resets: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IngestCounter(Base):
    """Running totals that survive restarts: messages and readings rejected.  Readings accepted and
    duplicates are counted per household since revision 0003 (`HouseholdSummary`); the totals keep
    what a database counted before, and the statistics add the two."""

    __tablename__ = "ingest_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class MonitorSnapshot(Base):
    """The embedded runner's household state (`carewatch.runners.state`: detector state and reading counts),
    committed with the batch that changed it, so a restarted runner resumes where it stopped (Faust's
    changelog plays this role there).  Only the runner reads it: the console reads `HouseholdSummary`."""

    __tablename__ = "monitor_snapshots"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HouseholdSummary(Base):
    """What the console shows of a household's runner state, on either engine (`ingest.summaries`):
    its readings accepted and duplicates, and its learned routine (`RoutineSummary.as_json`)."""

    __tablename__ = "household_summaries"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    readings_accepted: Mapped[int] = mapped_column(BigInteger)
    readings_duplicate: Mapped[int] = mapped_column(BigInteger)
    routine: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """None only for counts carried over from before the routine was kept here (revision 0003)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeterHealthRow(Base):
    """Each meter's health as its household's runner state last held it (`ingest.summaries`, from
    `detectors.meter_health.MeterHealthSummary`): the household page and a site's devices page read it."""

    __tablename__ = "meter_health"

    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When its newest reading was taken; None: never heard since the runner started keeping health."""
    battery_pct: Mapped[float | None] = mapped_column(Float)
    signal_dbm: Mapped[float | None] = mapped_column(Float)
    signal_median_dbm: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[list[str]] = mapped_column(JSON)
    battery_low: Mapped[bool] = mapped_column(Boolean)
    weak_signal: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsumedOffset(Base):
    """How far ingest's reports on Kafka (dead letters, gateway status) are stored: the next offset of each
    partition, committed with what was stored, so a redelivered record is recognised and not stored twice."""

    __tablename__ = "consumed_offsets"

    topic: Mapped[str] = mapped_column(String(249), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
