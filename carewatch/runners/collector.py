"""The cyclic garbage collector's full passes kept short while a runner runs (issue 13: no pause over 50 ms).

A full (generation 2) pass of the collector walks every tracked object not frozen (`gc.freeze`), in one stall of
the event loop that no slicing of ours can split.  A runner holds its households' monitors for as long as it runs
(millions of objects in a city), so both runners freeze what lives: what exists once started, and from then on what
survives each full pass (`freeze_survivors`).  A full pass then walks only what was made since the one before.

    start_freezing   once the runner is started (`running_system`, `run_worker`)
    stop_freezing    when it stops
"""

from __future__ import annotations

import gc


def freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """A `gc.callbacks` hook: what survived a full pass of the cyclic collector is frozen out of the next ones.

    Why: a full (generation 2) pass walks every object made since the last `gc.freeze`, in one stall of the event
    loop that no slicing of ours can split.  After the embedded runner's cold start nothing froze any more; what
    judging and ticking put into the monitors (each reading and tick replaces objects of a household's state) piled
    up in generation 2, and the passes grew with the households (up to 96 ms of CPU at 20,000, 232 ms at 50,000):
    every stall over 50 ms left in the drain (runbook 1.6).  The Faust worker froze nothing at all: every full pass
    walked every monitor in its cache (runbook 1.6).  Frozen as they go, a pass walks only what survived since the
    previous one, which the interpreter's own cadence (ten younger passes between two full ones) bounds, not the
    households.

    The cost: a frozen object is still freed when its last reference goes, but a garbage cycle among frozen objects
    never is.  Judging and ticking make none (`tests/runners/test_households_at_scale.py`); what is kept is what was
    in flight at a pass (a commit's retry state, a connection) or made by paho's thread in the instant before the
    freeze (a topic match leaves a cycle per message): ≈ 44 objects, 4 KB, a full pass (runbook 1.6)."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def start_freezing() -> None:
    """Once the runner is started: what exists now (modules, the directory, resumed states: what lives as long as
    the runner) is collected once and frozen, and from now on what survives each full pass too (`freeze_survivors`)."""
    gc.collect()
    gc.freeze()
    gc.callbacks.append(freeze_survivors)


def stop_freezing() -> None:
    """When the runner stops: what survives a full pass is no longer frozen.  What was frozen stays so until the
    caller gives it back (`gc.unfreeze`) once its long-lived objects are let go, so that the next full pass does not
    walk them (the embedded runner's states: 7 s of CPU at 100,000 households)."""
    gc.callbacks.remove(freeze_survivors)
