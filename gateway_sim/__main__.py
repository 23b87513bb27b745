"""``python -m gateway_sim --host H --port P --households N --days D --seed S``: publish a simulation."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

from gateway_sim.config import DEFAULT_START, SimConfig
from gateway_sim.publisher import BrokerUnavailable, PublishFailed
from gateway_sim.simulation import Simulation


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway_sim", description=__doc__)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--households", type=int, default=50)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START,
                        help="aware ISO time, e.g. 2026-01-05T00:00:00+08:00 (default: %(default)s)")
    parser.add_argument("--interval-s", type=int, default=900, help="seconds between readings")
    parser.add_argument("--upload-every-s", type=int, default=None,
                        help="seconds between uploads (default: every reading; 86400: a daily batch)")
    parser.add_argument("--real-cadence", action="store_true",
                        help="meters report like real smart meters: about hourly at irregular minutes, with gaps "
                        "of hours to days, in pulses (gateway_sim/cadence.py)")
    parser.add_argument("--speed", type=float, default=None,
                        help="simulated seconds per real second (default: as fast as the broker acknowledges)")
    parser.add_argument(
        "--username", default=None, help="may contain {gateway_id}; default with --password: the gateway id"
    )
    parser.add_argument("--password", default=None)
    parser.add_argument("--registry-out", type=Path, default=None, help="write the registry JSON here")
    parser.add_argument("--truth-out", type=Path, default=None, help="write the ground-truth incidents here")
    parser.add_argument("--dry-run", action="store_true", help="write the files and count messages; publish nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = SimConfig(
            households=args.households,
            days=args.days,
            seed=args.seed,
            start=args.start,
            interval_s=args.interval_s,
            upload_every_s=args.upload_every_s or args.interval_s,
            real_cadence=args.real_cadence,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    simulation = Simulation(config)
    if args.registry_out:
        args.registry_out.write_text(json.dumps(simulation.registry_document(), ensure_ascii=False, indent=2))
        print(f"registry written to {args.registry_out}", file=sys.stderr)
    if args.truth_out:
        args.truth_out.write_text(json.dumps(simulation.truth_document(), ensure_ascii=False, indent=2))
        print(f"ground truth written to {args.truth_out}", file=sys.stderr)
    if args.dry_run:
        count = sum(1 for _ in simulation.messages())
        print(f"{count} messages (dry run, nothing published)", file=sys.stderr)
        return 0

    def progress(sim_time: datetime, messages: int) -> None:
        if sim_time.minute == 0 and sim_time.hour % 6 == 0:
            print(f"simulated {sim_time:%Y-%m-%d %H:%M}, {messages} messages published", file=sys.stderr)

    try:
        stats = asyncio.run(
            simulation.publish(
                args.host,
                args.port,
                speed=args.speed,
                username=args.username,
                password=args.password,
                on_progress=progress,
            )
        )
    except (BrokerUnavailable, PublishFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    print(
        f"published {stats.messages} messages ({stats.readings} readings) from {stats.gateways} gateways "
        f"up to {stats.sim_end.isoformat()} in {stats.elapsed_s:.1f} s; "
        f"{stats.dropped_connections} gateway(s) went silent",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
