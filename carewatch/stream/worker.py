"""`carewatch worker`: one Faust worker process of the detector stream."""

from __future__ import annotations

import asyncio
import logging

import faust

from carewatch.kafka import ensure_topics
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.stream.app import create_app


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run until stopped (SIGTERM/SIGINT). Blocks; Faust owns the event loop."""
    registry = Registry.load(settings.registry_path)
    asyncio.run(ensure_topics(settings))
    app = create_app(settings, registry)
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("faust").setLevel(loglevel.upper())
    worker.execute_from_commandline()
