"""benchmarks/stream_throughput.py registers its meters as the readings arrive: uploads, not live meters.

Registered as live, every household still waiting for its next upload was silent to the Faust worker's
event-time replay (the round's first upload moves the partition's time 12 h ahead): thousands of
meter_silent raised and cleared, with their states and summaries, work only the faust column did.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from alerts.wire import decode_detection
from carewatch.domain import AlertType
from carewatch.kafka import partition_of
from carewatch.registry import Registry
from carewatch.runners.faust.judging import Judging, To
from carewatch.settings import Settings

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "stream_throughput.py"
HOUSEHOLDS, PER_HOUSEHOLD, UPLOAD, PARTITIONS = 40, 96, 48, 2


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes


def benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("stream_throughput", BENCHMARK)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault("stream_throughput", module)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_benchmark_replay_raises_no_meter_silent_for_a_household_waiting_for_its_next_upload() -> None:
    bench = benchmark()
    registry = Registry.from_document(bench.registry_document(HOUSEHOLDS, UPLOAD))
    settings = Settings(_env_file=None, environment="development", kafka_partitions=PARTITIONS, clock="event")  # type: ignore[call-arg]
    table: dict[bytes, bytes] = {}
    judging = Judging(registry=registry, settings=settings, read=table.get)
    offsets: Counter[int] = Counter()
    alerts: Counter[AlertType] = Counter()
    for key, value in bench.records(bench.readings(HOUSEHOLDS, PER_HOUSEHOLD), HOUSEHOLDS, UPLOAD):
        partition = partition_of(key.decode(), PARTITIONS)
        judged = judging.judge([Record("readings", partition, offsets[partition], value)])
        offsets[partition] += 1
        writes = judging.writes(judged)
        table.update((write.key, write.value) for write in writes.states + writes.marks)
        alerts.update(decode_detection(o.value).alert_type for o in judged.sends if o.to is To.DETECTIONS)
    assert judging.readings_judged == HOUSEHOLDS * PER_HOUSEHOLD
    assert alerts[AlertType.METER_SILENT] == 0, alerts


def test_the_baselines_tick_each_household_as_often_as_the_worker_does(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """plain and quix do the worker's detector work: the ticks too (an uploaded household's batch meets the 24 h
    rule at a tick), as many per household as the worker's replay gives it on the same records."""
    from detectors.household import HouseholdMonitor

    bench = benchmark()
    registry = Registry.from_document(bench.registry_document(HOUSEHOLDS, UPLOAD))
    settings = Settings(_env_file=None, environment="development", kafka_partitions=PARTITIONS, clock="event")  # type: ignore[call-arg]
    ticks: Counter[str] = Counter()
    tick = HouseholdMonitor.tick

    def counted(monitor: HouseholdMonitor, at):  # type: ignore[no-untyped-def]
        ticks[monitor.profile.household_id] += 1
        return tick(monitor, at)

    monkeypatch.setattr(HouseholdMonitor, "tick", counted)
    written = bench.records(bench.readings(HOUSEHOLDS, PER_HOUSEHOLD), HOUSEHOLDS, UPLOAD)
    table: dict[bytes, bytes] = {}
    judging = Judging(registry=registry, settings=settings, read=table.get)
    offsets: Counter[int] = Counter()
    for key, value in written:
        partition = partition_of(key.decode(), PARTITIONS)
        judged = judging.judge([Record("readings", partition, offsets[partition], value)])
        offsets[partition] += 1
        table.update((write.key, write.value) for write in judging.writes(judged).states)
    by_worker, ticks = dict(ticks), Counter()

    monitors, schedules = {}, {}
    for _, value in written:
        record = bench.decode_record(value)
        household_id = record.household_id
        if household_id not in monitors:
            monitors[household_id] = bench.new_monitor(registry, household_id)
            schedules[household_id] = bench.TickSchedule(settings.tick_every)
        bench.judged_and_ticked(monitors[household_id], record.readings, schedules[household_id], settings.watermark_lateness)
    assert dict(ticks) == by_worker
    assert set(by_worker.values()) == {PER_HOUSEHOLD}
