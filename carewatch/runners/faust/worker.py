"""`carewatch worker`: one Faust worker process of the detector stream."""

from __future__ import annotations

import asyncio
import logging
import sys

import faust

from carewatch.kafka import ensure_topics
from carewatch.registry import Registry
from carewatch.runners.collector import start_freezing, stop_freezing
from carewatch.settings import Settings
from carewatch.runners.faust.adapter import without_spinner
from carewatch.runners.faust.app import create_app


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run until stopped (SIGTERM/SIGINT). Blocks; Faust owns the event loop."""
    registry = Registry.load(settings.registry_path)
    asyncio.run(ensure_topics(settings))
    app = create_app(settings, registry)
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    without_spinner(worker)  # Faust's spinner leaves the root logger at DEBUG (see the adapter)
    logging.getLogger("faust").setLevel(loglevel.upper())
    # Our own lines (assignments, sweeps: a few per rebalance) at INFO whatever Faust's level is.
    ours = logging.getLogger("carewatch")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    ours.propagate = False
    # What lives as long as the worker (modules, the directory, the app) frozen out of the cyclic collector's full
    # passes, and from now on what survives each of them: the monitors it caches, which every full pass walked
    # (`carewatch.runners.collector`; runbook 1.6).
    start_freezing()
    try:
        worker.execute_from_commandline()
    finally:
        stop_freezing()
