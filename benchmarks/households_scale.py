"""Work that grows with households (issue 13 item 4): ticks, start-up, the registry import, at city scale.

    python3 benchmarks/households_scale.py --households 50000,100000,300000 --runs 3

Each section runs in a fresh process per household count (so its peak RSS is its own), on SQLite in a
temporary directory, and prints the median of ``--runs`` runs with every run in brackets:

- tick: a `Pipeline` (the embedded engine, wall clock) whose N households each judged ``--warm``
  readings per meter (gas and water, hourly), then ``--runs`` wall-clock ticks five minutes apart, each
  run to its end by ``Pipeline.tick``; a loop-lag probe (a task sleeping 1 ms at a time) records the
  longest time the event loop did not answer (what ingest's MQTT hand-off and the API would wait), and
  the tick's wall time.
- coldstart: a `Pipeline` on the event clock (replays, city.py) with N households and no stored state judges one
  household's upload (both meters, 12 values 5 minutes apart, in one message): each reading drags the event time
  a step on, and each step ticks every household (the first making every household's monitor), inside judging
  (city.py's cold start: a day-long upload, 48 steps); the same loop-lag probe, the longest pass of the garbage
  collector meanwhile, and the upload's time from judging to commit (the N new states pickled and written).
- start: N households in the directory and N stored household states; the time from nothing to a started
  pipeline: `load_registry` (the directory read) + `Pipeline.start` (the states read), and its peak RSS; then
  how long one full pass of the garbage collector takes with the states in memory (``gc.collect()``: what
  a generation-2 collection stalls the event loop for whenever it comes).
- import: a registry file of N households (two meters each) imported into an empty directory by
  `sync_registry_file` (what `carewatch run` does with CAREWATCH_REGISTRY_PATH at its first start),
  then again unchanged (every restart: the file hashed, found to be the one last applied, not compared),
  and compared with the directory anyway (`import_registry_file`: what every restart did before the
  digest): times, and the process's peak RSS (``ru_maxrss``) after the first, less its RSS before (the
  interpreter and carewatch's modules).

The machine is the shared 2-core development machine: quote medians, and re-measure on your own.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script too: the repository's packages

from benchmarks.loop_lag import LoopLag  # noqa: E402 - needs the path above

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def household_entries(n: int) -> list[dict[str, object]]:
    return [
        {
            "household_id": f"hh-{i:07d}",
            "site": f"site-{i // 5000:03d}",
            "gateway_id": f"gw-{i // 50:06d}",
            "name": f"elder {i}",
            "address": f"{i} Road",
            "meters": [
                {"meter_id": f"g-{i:07d}", "kind": "gas", "interval_s": 900},
                {"meter_id": f"w-{i:07d}", "kind": "water", "interval_s": 900},
            ],
        }
        for i in range(n)
    ]


def registry_of(n: int):  # type: ignore[no-untyped-def]
    from carewatch.registry import RegisteredHousehold, Registry
    from carewatch.domain import MeterKind
    from detectors.config import HouseholdProfile, MeterProfile, RuleConfig

    zone, rules = ZoneInfo("Asia/Shanghai"), RuleConfig()
    return Registry([
        RegisteredHousehold(
            HouseholdProfile(
                f"hh-{i:07d}", (MeterProfile(f"g-{i:07d}", MeterKind.GAS), MeterProfile(f"w-{i:07d}", MeterKind.WATER)),
                rules, zone,
            ),
            f"elder {i}", f"site-{i // 5000:03d}", "", f"gw-{i // 50:06d}",
        )
        for i in range(n)
    ])


async def _sessions(directory: Path):  # type: ignore[no-untyped-def]
    from carewatch.db import make_engine, make_sessions
    from carewatch.schema import create_schema

    engine = make_engine(f"sqlite+aiosqlite:///{directory / 'carewatch.db'}")
    await create_schema(engine)
    return engine, make_sessions(engine)


def _warm(pipeline, n: int, readings: int) -> None:  # type: ignore[no-untyped-def]
    from carewatch.domain import MeterKind, Reading
    from carewatch.runners.engine import judge

    for i in range(n):
        household_id = f"hh-{i:07d}"
        monitor = pipeline._state(household_id).monitor
        for step in range(readings):
            at = START + timedelta(hours=step - readings + 1)  # the newest at START: the ticks after it find no silence
            judge(monitor, Reading(household_id, f"g-{i:07d}", MeterKind.GAS, at, 100.0 + 0.1 * step))
            judge(monitor, Reading(household_id, f"w-{i:07d}", MeterKind.WATER, at, 50.0 + 0.05 * step))


async def child_tick(n: int, runs: int, warm: int) -> dict[str, object]:
    from carewatch.runners.embedded.pipeline import Pipeline
    from carewatch.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        engine, sessions = await _sessions(Path(tmp))
        settings = Settings(clock="wall", environment="development", _env_file=None)
        pipeline = Pipeline(registry=registry_of(n), sessions=sessions, settings=settings, clock=lambda: START)
        await pipeline.start()
        began = time.perf_counter()
        _warm(pipeline, n, warm)
        warm_s = time.perf_counter() - began
        stalls, cpu_stalls, walls = [], [], []
        for run in range(runs):
            at = START + timedelta(minutes=5 * (run + 1))
            with LoopLag() as lag:
                await asyncio.sleep(0.01)  # the probe is running
                began = time.perf_counter()
                await pipeline.tick(at)
                walls.append(time.perf_counter() - began)
                await asyncio.sleep(0.005)
            stalls.append(lag.longest)
            cpu_stalls.append(lag.longest_cpu)
        await engine.dispose()
    return {"stall_ms": [s * 1000 for s in stalls], "cpu_stall_ms": [s * 1000 for s in cpu_stalls], "tick_s": walls, "warm_s": warm_s, "peak_rss_mb": peak_rss_mb()}


class CollectorPauses:
    """The longest pass of the cyclic garbage collector of each generation while it is entered (``gc.callbacks``):
    a pass holds the event loop too, whatever code was running."""

    def __init__(self) -> None:
        self.longest: dict[int, float] = {}
        self._began = 0.0

    def _watch(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            took = time.perf_counter() - self._began
            self.longest[info["generation"]] = max(self.longest.get(info["generation"], 0.0), took)

    def __enter__(self) -> CollectorPauses:
        gc.callbacks.append(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._watch)


def day_upload(household: int, first: datetime, every: timedelta, readings: int):  # type: ignore[no-untyped-def]
    import orjson

    from ingest.subscriber import InboundMessage

    values = [
        {"meter_id": f"{kind}-{household:07d}", "at": (first + k * every).isoformat(), "register_m3": 10.0 + 0.01 * k}
        for k in range(readings) for kind in ("g", "w")
    ]
    return InboundMessage("carewatch/v1/gateways/gw-000000/readings", orjson.dumps({"v": 1, "readings": values}), 1, 1, first)


async def child_coldstart(n: int, runs: int, warm: int) -> dict[str, object]:
    from carewatch.runners.embedded.pipeline import Pipeline
    from carewatch.settings import Settings

    stalls, cpu_stalls, walls, cpus, collector = [], [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            engine, sessions = await _sessions(Path(tmp))
            settings = Settings(clock="event", environment="development", _env_file=None)
            pipeline = Pipeline(registry=registry_of(n), sessions=sessions, settings=settings, clock=lambda: START)
            await pipeline.start()
            gc.collect()
            gc.freeze()  # as running_system does once started
            # 12 values 5 minutes apart: 12 steps, each a tick of every household, within the hour a new monitor
            # waits before it calls a meter silent (so the commit holds the states, no alert per household).
            upload = day_upload(0, START - timedelta(hours=1), timedelta(minutes=5), 12)
            with LoopLag() as lag, CollectorPauses() as passes:
                await asyncio.sleep(0.01)  # the probe is running
                began, cpu = time.perf_counter(), time.thread_time()
                await pipeline.handle([upload])
                walls.append(time.perf_counter() - began)
                cpus.append(time.thread_time() - cpu)
                await asyncio.sleep(0.005)
            stalls.append(lag.longest)
            cpu_stalls.append(lag.longest_cpu)
            collector.append(max(passes.longest.values(), default=0.0))
            assert len(pipeline.states) == n, len(pipeline.states)
            await engine.dispose()
            del pipeline
            gc.unfreeze()
            gc.collect()
    return {"stall_ms": [s * 1000 for s in stalls], "cpu_stall_ms": [s * 1000 for s in cpu_stalls], "handle_s": walls,
            "handle_cpu_s": cpus, "collector_ms": [c * 1000 for c in collector], "peak_rss_mb": peak_rss_mb()}


async def _fill_directory(sessions, n: int, states: bool, warm: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from carewatch.directory import Gateway, Household, Meter, Site
    from carewatch.runners.embedded.pipeline import Pipeline
    from carewatch.runners.state import dumps, summary_of
    from ingest.summaries import store_summaries
    from carewatch.settings import Settings
    from ingest.models import MonitorSnapshot

    entries = household_entries(n)
    async with sessions.begin() as session:
        sites = sorted({str(e["site"]) for e in entries})
        await session.execute(insert(Site), [{"id": s, "name": s} for s in sites])
        gateways = {str(e["gateway_id"]): str(e["site"]) for e in entries}
        await session.execute(insert(Gateway), [{"id": g, "site_id": s, "name": ""} for g, s in gateways.items()])
        await session.execute(insert(Household), [
            {"id": e["household_id"], "site_id": e["site"], "name": e["name"], "address": e["address"],
             "timezone": "Asia/Shanghai", "gateway_id": e["gateway_id"], "phone": "", "notes": "", "rules": {}}
            for e in entries
        ])
        await session.execute(insert(Meter), [
            {"id": m["meter_id"], "household_id": e["household_id"], "kind": m["kind"], "interval_s": 900.0, "upload_every_s": 0.0}
            for e in entries for m in e["meters"]  # type: ignore[union-attr]
        ])
    if states:
        settings = Settings(clock="wall", environment="development", _env_file=None)
        pipeline = Pipeline(registry=registry_of(n), sessions=sessions, settings=settings, clock=lambda: START)
        _warm(pipeline, n, warm)
        rows = [{"household_id": h, "state": dumps(s), "updated_at": START} for h, s in pipeline.states.items()]
        summaries = [summary_of(h, s) for h, s in pipeline.states.items()]
        async with sessions.begin() as session:
            for start in range(0, len(rows), 5000):
                await session.execute(insert(MonitorSnapshot), rows[start : start + 5000])
                await store_summaries(session, summaries[start : start + 5000], START)


async def child_start(n: int, runs: int, warm: int) -> dict[str, object]:
    from carewatch.directory import load_registry
    from carewatch.runners.embedded.pipeline import Pipeline
    from carewatch.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        engine, sessions = await _sessions(Path(tmp))
        await _fill_directory(sessions, n, True, warm)
        settings = Settings(clock="wall", environment="development", _env_file=None)
        before = rss_mb()
        times, full_gc = [], []
        for _ in range(runs):
            began = time.perf_counter()
            async with sessions() as session:
                registry = await load_registry(session, now=START)
            pipeline = Pipeline(registry=registry, sessions=sessions, settings=settings, clock=lambda: START)
            await pipeline.start()
            times.append(time.perf_counter() - began)
            assert len(pipeline.states) == n, len(pipeline.states)
            began = time.perf_counter()
            gc.collect()  # what a full pass of the collector stalls the loop for, the states in memory
            full_gc.append(time.perf_counter() - began)
            del pipeline, registry
            gc.unfreeze()
            gc.collect()
        await engine.dispose()
    return {"start_s": times, "full_gc_ms": [t * 1000 for t in full_gc], "rss_before_mb": before, "peak_rss_mb": peak_rss_mb()}


async def child_import(n: int, runs: int, warm: int) -> dict[str, object]:
    from api.directory_sync import import_registry_file, sync_registry_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "households.json"
        path.write_text(json.dumps({"version": 1, "households": household_entries(n)}))
        size_mb = path.stat().st_size / 2**20
        engine, sessions = await _sessions(Path(tmp))
        before = rss_mb()
        result: dict[str, object] = {"file_mb": size_mb, "rss_before_mb": before}
        try:
            began = time.perf_counter()
            async with sessions.begin() as session:
                imported = await sync_registry_file(session, path)
            result["first_s"] = time.perf_counter() - began
            result["peak_after_first_mb"] = peak_rss_mb()
            result["described"] = imported.describe() if imported else None
            for key, restart in (("unchanged_s", sync_registry_file), ("compared_s", import_registry_file)):
                again = []
                for _ in range(runs):
                    began = time.perf_counter()
                    async with sessions.begin() as session:
                        await restart(session, path)
                    again.append(time.perf_counter() - began)
                result[key] = again
        except Exception as exc:  # the refusal before issue 13 item 4
            result["refused"] = str(exc).splitlines()[-2][:160] if "\n" in str(exc) else str(exc)[:160]
        result["peak_rss_mb"] = peak_rss_mb()
        await engine.dispose()
    return result


CHILDREN = {"tick": child_tick, "coldstart": child_coldstart, "start": child_start, "import": child_import}


def median_of(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({', '.join(f'{v:.3f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", default="50000,100000,300000", help="comma-separated household counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=4, help="readings per meter each household judged before the ticks")
    parser.add_argument("--sections", default="tick,start,import")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(CHILDREN[args.child](int(args.households), args.runs, args.warm))
        print(json.dumps(result))
        return
    env = {**os.environ, "PYTHONPATH": f"{HERE.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for section in args.sections.split(","):
        for n in [int(h) for h in args.households.split(",")]:
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--child", section, "--households", str(n), "--runs", str(args.runs),
                 "--warm", str(args.warm)],
                capture_output=True, text=True, env=env, check=False,
            )
            if done.returncode != 0:
                print(f"{section} {n}: failed\n{done.stderr[-3000:]}")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            took = time.perf_counter() - began
            if section == "tick":
                print(f"tick   {n:>7} households: longest loop stall ms {median_of(result['stall_ms'])}, "
                      f"in the loop's CPU {median_of(result['cpu_stall_ms'])}; "
                      f"tick s {median_of(result['tick_s'])}; warm-up {result['warm_s']:.0f} s; peak RSS {result['peak_rss_mb']:.0f} MB")
            elif section == "coldstart":
                print(f"coldstart {n:>7} households: longest loop stall ms {median_of(result['stall_ms'])}, "
                      f"in the loop's CPU {median_of(result['cpu_stall_ms'])}; longest collector pass ms {median_of(result['collector_ms'])}; "
                      f"the upload judged and committed in s {median_of(result['handle_s'])}, CPU s {median_of(result['handle_cpu_s'])}; "
                      f"peak RSS {result['peak_rss_mb']:.0f} MB")
            elif section == "start":
                print(f"start  {n:>7} households: directory read + states resumed s {median_of(result['start_s'])}; "
                      f"then a full garbage-collector pass ms {median_of(result['full_gc_ms'])}; peak RSS {result['peak_rss_mb']:.0f} MB")
            else:
                if "refused" in result:
                    print(f"import {n:>7} households ({result['file_mb']:.0f} MB file): refused: {result['refused']}")
                else:
                    print(f"import {n:>7} households ({result['file_mb']:.0f} MB file): first {result['first_s']:.1f} s, "
                          f"peak RSS {result['peak_after_first_mb']:.0f} MB ({result['peak_after_first_mb'] - result['rss_before_mb']:.0f} MB over "
                          f"the {result['rss_before_mb']:.0f} MB before); unchanged again s {median_of(result['unchanged_s'])}; "
                          f"compared anyway s {median_of(result['compared_s'])}")
            print(f"       ({took:.0f} s in all)", flush=True)


if __name__ == "__main__":
    main()
