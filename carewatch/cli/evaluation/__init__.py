"""Measuring the detectors against ground truth.

- `matching`  — incidents versus alerts: recall, delays, false alarms per household-day.
- `replay`    — a simulation through ingest's parser and the monitors, in-process.
- `scenarios` — the labelled scenario families of `carewatch evaluate`.
- `report`    — the tables.
"""

from carewatch.cli.evaluation.matching import (
    EXPECTED,
    EXPLAINED_BY,
    Evaluation,
    IncidentOutcome,
    KindScore,
    RaisedAlert,
    Scorecard,
    TruthIncident,
    evaluate,
    score,
)

__all__ = [
    "EXPECTED",
    "EXPLAINED_BY",
    "Evaluation",
    "IncidentOutcome",
    "KindScore",
    "RaisedAlert",
    "Scorecard",
    "TruthIncident",
    "evaluate",
    "score",
]
