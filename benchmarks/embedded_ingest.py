"""CPU per reading of the embedded engine vs a raw paho subscriber, same traffic, same broker, one run.

    python benchmarks/embedded_ingest.py --households 500 --readings 48 --runs 3
    python benchmarks/embedded_ingest.py --households 50 --readings 48 --runs 3 --trickle 10

The traffic is the simulator's (gateway_sim, seed 1): every household's gas and water meter read
every 15 minutes and uploaded hourly by its gateway, contract v1 messages of up to 8 readings
(plus each gateway's retained "online" status), ``--readings`` readings per household.  For each
run a private Mosquitto is started on a free loopback port, the subscriber connects and
subscribes, and then a separate publisher process sends every message with QoS 1 as fast as the
broker takes it.  The CPU time of THIS process (``time.process_time``: every thread, so paho's
network thread and aiosqlite's too) is taken from just before the publisher starts until every
reading is handled, and divided by the readings:

- raw: a plain paho subscriber (MQTT 3.1.1, persistent session, manual acknowledgement, as
  `ingest.subscriber` connects) that only receives each message and acknowledges it: the floor;
- embedded: `running_system` (carewatch/runners/embedded/pipeline.py) on SQLite in a temporary
  directory, event clock: each batch translated, judged, committed (readings, hourly use, alerts,
  household states and summaries) and only then acknowledged; timed until it has judged every
  reading and committed the last batch.  Its background tasks (notification ladder) count too;
- subscriber (with ``--subscriber``): `ingest.subscriber.MqttSubscriber` alone, taking batches of up to 500
  from its inbox and acknowledging them: what the hand-off from paho's thread to the event loop costs.

The broker's and the publisher's CPU are not counted in either (other processes), so the ratio
compares what carewatch's process spends with what a subscriber that does nothing spends.
Start-up (schema, resuming states, connecting) is not timed.  Prints the median µs/reading of
--runs runs of each, and the ratio embedded/raw (issue 13 aims at ≤ 50 µs and ≤ 4×).

With ``--trickle MS`` the publisher sends one message, waits for the broker's acknowledgement and pauses MS ms,
as live gateways send: each message is a batch, and a commit, of its own.  The CPU then includes what the
processes do while waiting (the pipeline's loop, paho's keep-alive); the figure per message is what a live
message costs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import base64
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt

from carewatch.loopback import free_port, stop_process, wait_listening
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation
from ingest.subscriber import BrokerAddress, MqttSubscriber

MOSQUITTO_CONFIG = "allow_anonymous true\npersistence false\nmax_inflight_messages 1000\nmax_queued_messages 100000\n"
UPLOAD_EVERY_S = 3600
INTERVAL_S = 900
POLL_S = 0.05
PAUSE_S = 0.0
"""The publisher's pause after each message (``--trickle``); 0: as fast as the broker takes them."""
TIMEOUT_S = 600.0

Message = tuple[str, bytes, bool]
"""(topic, payload, retained)."""


def write_messages(messages: list[Message], path: Path) -> None:
    """The messages for the publisher process, a JSON line each (payloads in base64: they are bytes)."""
    with path.open("wb") as file:
        for topic, payload, retain in messages:
            file.write(orjson.dumps([topic, base64.b64encode(payload).decode(), retain]) + b"\n")


def read_messages(path: Path) -> list[Message]:
    """What `write_messages` wrote, in the same order.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "m.jsonl"
    >>> write_messages([("a/b", b"\\x00{}", True)], path)
    >>> read_messages(path)
    [('a/b', b'\\x00{}', True)]
    """
    with path.open("rb") as file:
        return [(topic, base64.b64decode(payload), retain) for topic, payload, retain in map(orjson.loads, file)]


def traffic(households: int, readings_per_household: int) -> tuple[dict[str, object], list[Message], int]:
    """The simulator's registry, messages in publish order, and how many readings they carry."""
    days = readings_per_household / 2 * INTERVAL_S / 86400  # two meters per household
    simulation = Simulation(SimConfig(households=households, days=days, seed=1, upload_every_s=UPLOAD_EVERY_S))
    messages = list(simulation.messages())
    return (
        simulation.registry_document(),
        [(m.topic, m.payload, m.retain) for m in messages],
        sum(m.reading_count for m in messages),
    )


@contextmanager
def private_mosquitto(workdir: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = workdir / f"mosquitto-{port}.conf"
    config.write_text(f"listener {port} 127.0.0.1\n{MOSQUITTO_CONFIG}")
    with (workdir / f"mosquitto-{port}.log").open("wb") as log:
        process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_listening(port, process, what="mosquitto")
            yield port
        finally:
            stop_process(process)


def publish(port: int, messages_file: Path, pause_s: float = 0.0) -> None:
    """(The publisher process.)  Every message with QoS 1, as fast as the broker takes them; exits once all are acknowledged.
    ``pause_s``: trickle instead, as live gateways send: each message acknowledged by the broker, then a pause."""
    messages = read_messages(messages_file)
    acknowledged = threading.Semaphore(0)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.on_publish = lambda *_: acknowledged.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload, retain in messages:
            client.publish(topic, payload, qos=1, retain=retain)
            if pause_s:
                if not acknowledged.acquire(timeout=TIMEOUT_S):
                    raise TimeoutError("the broker stopped acknowledging")
                acknowledged.release()
                time.sleep(pause_s)
        for _ in messages:
            if not acknowledged.acquire(timeout=TIMEOUT_S):
                raise TimeoutError("the broker stopped acknowledging")
    finally:
        client.disconnect()
        client.loop_stop()


async def timed(port: int, messages_file: Path, done: Callable[[], Awaitable[bool]]) -> float:
    """CPU seconds of this process from starting the publisher until ``done()``."""
    started_cpu, deadline = time.process_time(), time.monotonic() + TIMEOUT_S
    publisher = subprocess.Popen([sys.executable, __file__, "--publish", str(port), str(messages_file), str(PAUSE_S)])
    try:
        while not await done():
            if time.monotonic() > deadline:
                raise TimeoutError("the subscriber did not get every message in time")
            await asyncio.sleep(POLL_S)
        return time.process_time() - started_cpu
    finally:
        if publisher.wait(TIMEOUT_S) != 0:
            raise RuntimeError(f"the publisher failed with {publisher.returncode}")


async def raw_paho(port: int, messages_file: Path, expected_messages: int) -> float:
    received = 0
    connected = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        client.subscribe([("carewatch/v1/gateways/+/readings", 1), ("carewatch/v1/gateways/+/status", 1)])

    def on_subscribe(*_):  # type: ignore[no-untyped-def]
        connected.set()

    def on_message(client, userdata, message):  # type: ignore[no-untyped-def]
        nonlocal received
        client.ack(message.mid, message.qos)
        received += 1

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw", clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True
    )
    client.max_inflight_messages_set(1000)
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise TimeoutError("raw subscriber not subscribed")

        async def all_received() -> bool:
            return received >= expected_messages

        return await timed(port, messages_file, all_received)
    finally:
        client.disconnect()
        client.loop_stop()


async def subscriber_only(port: int, messages_file: Path, expected_messages: int) -> float:
    subscriber = MqttSubscriber(BrokerAddress("127.0.0.1", port), "bench-subscriber", "carewatch/v1")
    await subscriber.start()
    taken = 0

    async def take_and_acknowledge() -> None:
        nonlocal taken
        while True:
            batch = await subscriber.next_batch(500)
            for message in batch:
                subscriber.ack(message)
            taken += len(batch)

    taking = asyncio.create_task(take_and_acknowledge())

    async def all_taken() -> bool:
        return taken >= expected_messages

    try:
        return await timed(port, messages_file, all_taken)
    finally:
        taking.cancel()
        await subscriber.stop()


async def embedded(port: int, messages_file: Path, registry: Registry, expected_readings: int, workdir: Path) -> float:
    database = tempfile.mkdtemp(dir=workdir)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{database}/carewatch.db", clock="event", environment="development"
    )
    async with running_system(settings, registry, BrokerAddress("127.0.0.1", port), "bench-embedded") as system:

        async def all_committed() -> bool:
            if system.consumer.done():
                system.consumer.result()  # what stopped the pipeline
                raise RuntimeError("the pipeline stopped")
            return system.pipeline.readings_seen >= expected_readings and not system.pipeline.busy

        return await timed(port, messages_file, all_committed)


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="carewatch-bench-"))
    try:
        document, messages, readings = traffic(args.households, args.readings)
        registry = Registry.from_document(document)
        messages_file = workdir / "messages.jsonl"
        write_messages(messages, messages_file)
        print(f"{len(messages)} messages, {readings} readings of {args.households} households"
              + (f", one at a time {args.trickle:g} ms apart" if args.trickle else ""))
        cpu: dict[str, list[float]] = {"raw": [], "subscriber": [], "embedded": []}
        for _ in range(args.runs):
            if args.only in (None, "raw"):
                with private_mosquitto(workdir) as port:
                    cpu["raw"].append(await raw_paho(port, messages_file, len(messages)) / readings * 1e6)
            if args.only == "subscriber" or (args.only is None and args.subscriber):
                with private_mosquitto(workdir) as port:
                    cpu["subscriber"].append(await subscriber_only(port, messages_file, len(messages)) / readings * 1e6)
            if args.only in (None, "embedded"):
                with private_mosquitto(workdir) as port:
                    cpu["embedded"].append(await embedded(port, messages_file, registry, readings, workdir) / readings * 1e6)
        medians = {name: statistics.median(values) for name, values in cpu.items() if values}
        for name, value in medians.items():
            per_message = value * readings / len(messages)
            print(f"{name:>8}: {value:8.1f} µs CPU/reading, {per_message:8.1f} µs/message  (runs: {', '.join(f'{v:.1f}' for v in cpu[name])})")
        if "raw" in medians and "embedded" in medians:
            print(f"ratio embedded/raw = {medians['embedded'] / medians['raw']:.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--readings", type=int, default=48, help="readings per household (gas and water, every 15 min)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("raw", "subscriber", "embedded"), help="measure one of them (e.g. under a profiler)")
    parser.add_argument("--subscriber", action="store_true", help="also measure MqttSubscriber alone (the hand-off's cost)")
    parser.add_argument(
        "--trickle", type=float, metavar="MS",
        help="publish one message at a time, MS milliseconds apart (live gateways): each is a batch and a commit of its own",
    )
    parser.add_argument("--publish", nargs=3, metavar=("PORT", "FILE", "PAUSE_S"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.publish:
        publish(int(arguments.publish[0]), Path(arguments.publish[1]), float(arguments.publish[2]))
    else:
        PAUSE_S = (arguments.trickle or 0.0) / 1000
        asyncio.run(main(arguments))
