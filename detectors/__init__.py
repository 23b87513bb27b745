"""Where a reading is judged: pure, event-time detectors, one monitor per household.

- `household`  — `HouseholdMonitor`: readings and ticks in, alert transitions out.
- `history`    — the short sorted history of one meter (the evidence).
- `inactivity` — no gas / no water / no activity over the trailing window (the seed rule).
- `flow`       — gas or water flowing continuously for hours.
- `ceiling`    — far more use in a day than a person living alone needs.
- `silence`    — meters that stopped reporting (a device problem, never "no use").
- `register`   — duplicates, registers going backwards, replaced meters.
- `explain`    — the words of every detection, in Chinese and English.
- `base`       — tolerances, time conversion, the book of raised conditions.
- `config`     — per-household thresholds.

No I/O, no clock, no other carewatch room (an import-linter contract checks it);
every piece of state pickles, for the stream processor's tables.
"""
