"""The Faust worker keeps the monitors it holds out of the cyclic collector's full passes, as the embedded runner does
(`carewatch.runners.collector`; issue 13 item 4: no pause over 50 ms)."""

from __future__ import annotations

import gc
import logging

import orjson

from carewatch.runners.collector import freeze_survivors
from carewatch.runners.faust import worker as faust_worker
from carewatch.settings import Settings
from tests.runners.test_household_judge import reading, records


def test_what_survives_a_full_pass_of_the_collector_is_frozen_out_of_the_next_while_the_worker_runs(tmp_path, monkeypatch):
    # The worker froze nothing: every full pass walked every monitor in its cache, in one stall of the event loop
    # that grew with the households (runbook 1.6).  Faust's own worker is stood in for: once `run_worker` hands it
    # the app, it judges readings with the app's judge, and a full pass comes, as the interpreter starts one now and then.
    registry_path = tmp_path / "households.json"
    registry_path.write_bytes(orjson.dumps({"version": 1, "households": [
        {"household_id": household, "meters": [{"meter_id": meter, "kind": "gas"}]}
        for household, meter in (("hh-1", "gas-1"), ("hh-2", "gas-2"))
    ]}))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, kafka_url="kafka://localhost:9", registry_path=registry_path, stream_data_dir=tmp_path / "stream"
    )
    seen: dict[str, object] = {}

    class Running:
        """Faust's worker, running the app: judging, then a full pass of the collector."""

        def __init__(self, app, **options: object) -> None:  # type: ignore[no-untyped-def]
            self.app = app

        def execute_from_commandline(self) -> None:
            judging = self.app.judge.judging
            judged = judging.judge(records(reading("hh-1", 0, 10.0), reading("hh-2", 0, 5.0)))
            judging.writes(judged)  # the states saved, their monitors kept unpickled in the worker's cache
            gc.collect()
            tracked = {id(o) for o in gc.get_objects()}
            monitors = [loaded.state.monitor for loaded in judged.loaded.values()]
            seen["monitors"] = len(monitors)
            seen["walked"] = sum(id(monitor) in tracked for monitor in monitors)
            seen["hooked"] = freeze_survivors in gc.callbacks

    async def no_topics(settings: Settings) -> None:
        """No broker here."""

    monkeypatch.setattr(faust_worker, "ensure_topics", no_topics)
    monkeypatch.setattr(faust_worker.faust, "Worker", Running)
    ours, faust_logger = logging.getLogger("carewatch"), logging.getLogger("faust")  # `run_worker` sets both up
    handlers, level, propagate, faust_level = list(ours.handlers), ours.level, ours.propagate, faust_logger.level
    try:
        faust_worker.run_worker(settings)
    finally:
        gc.unfreeze()
        ours.handlers[:] = handlers
        ours.propagate = propagate
        ours.setLevel(level)
        faust_logger.setLevel(faust_level)
    assert seen["monitors"] == 2
    assert seen["walked"] == 0, f"{seen['walked']} of the 2 monitors made are still walked by every full pass"
    assert seen["hooked"]
    assert freeze_survivors not in gc.callbacks, "the hook goes with the worker"
