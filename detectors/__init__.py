"""Where a reading is judged: pure, event-time detectors, one monitor per household.

- `household`  — `HouseholdMonitor`: readings and ticks in, alert transitions out.
- `history`    — the short sorted history of one meter (the evidence).
- `inactivity` — no gas / no water / no activity over the trailing window (the seed rule).
- `routine`    — the household's days as the learned detectors see them, and what they may learn.
- `quiet`      — learned: no use by the usual morning, quiet for longer than ever at this hour.
- `night`      — learned: far more use in the household's sleeping hours than on its usual nights.
- `volume`     — learned: a day's use far above normal, a week's use far below.
- `anomaly`    — opt-in: any river.anomaly model judging quiet spells on hourly features.
- `flow`       — gas or water flowing continuously for hours.
- `ceiling`    — far more use in a day than a person living alone needs.
- `silence`    — meters that stopped reporting (a device problem, never "no use").
- `register`   — duplicates, registers going backwards, replaced meters.
- `explain`    — the words of every detection, in Chinese and English.
- `summary`    — what a monitor has learned of the routine, for duty staff (read-only).
- `base`       — tolerances, time conversion, the book of raised conditions.
- `config`     — per-household thresholds, planned absences.

No I/O, no clock, no other carewatch room (an import-linter contract checks it);
every piece of state pickles, for the stream processor's tables.
"""
