"""`carewatch worker`: one Faust worker process of the detector stream."""

from __future__ import annotations

import asyncio
import logging
import sys

import faust

from carewatch.kafka import ensure_topics
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.faust.app import create_app


def quiet_root_logger(worker: faust.Worker) -> None:
    """No start-up spinner: for it Faust sets the root logger to DEBUG and leaves it there, so every
    debug line of aiokafka and Faust (several per record produced) builds a LogRecord that is then
    dropped (≈3 % of the worker's busy time in a py-spy profile). Without it the root logger stays at ``loglevel``."""
    worker.spinner = None


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run until stopped (SIGTERM/SIGINT). Blocks; Faust owns the event loop."""
    registry = Registry.load(settings.registry_path)
    asyncio.run(ensure_topics(settings))
    app = create_app(settings, registry)
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    quiet_root_logger(worker)
    logging.getLogger("faust").setLevel(loglevel.upper())
    # Our own lines (assignments, sweeps: a few per rebalance) at INFO whatever Faust's level is.
    ours = logging.getLogger("carewatch")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    ours.propagate = False
    worker.execute_from_commandline()
