"""docs/runbook.md names only commands, settings and files that exist, and its sizing table follows its own rule."""

from __future__ import annotations

import math
import re

import pytest

from tests.deploy.checks import ROOT, is_carewatch_command, unknown_settings

RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
PER_WORKER = 1_000
"""The planning figure the runbook states (readings/s per worker)."""
THE_OPERATORS_OWN = {"deploy/.env", "deploy/households.json"}
"""Files the runbook tells the operator to make: not in the repository."""


def test_every_setting_it_names_is_real():
    assert unknown_settings(set(re.findall(r"CAREWATCH_[A-Z0-9_]+", RUNBOOK))) == []


@pytest.mark.parametrize("command", sorted(set(re.findall(r"(?:`|/bin/|^)carewatch ((?:admin )?[a-z][a-z-]+)", RUNBOOK, re.MULTILINE))))
def test_every_carewatch_command_it_names_is_real(command: str):
    assert is_carewatch_command(command.split()), f"carewatch {command}"


def test_every_repository_file_it_names_exists():
    named = set(re.findall(r"`((?:deploy|docs|tests|benchmarks|carewatch|api|ingest)/[\w./@-]+?)`", RUNBOOK))
    missing = sorted(path for path in named if path not in THE_OPERATORS_OWN and not (ROOT / path.rstrip("/")).exists())
    assert missing == []


def test_the_sizing_table_follows_its_rule():
    rows = re.findall(r"^\| ([\d,]+) \| ([\d,]+) \| scaled out \| (\d+) \| (\d+) \|", RUNBOOK, re.MULTILINE)
    assert len(rows) >= 3
    for households, peak, partitions, workers in ((int(c.replace(",", "")) for c in row) for row in rows):
        assert peak == round(households * 8 / 3600 * 10)
        assert workers == math.ceil(peak / PER_WORKER) + 1
        assert partitions >= 2 * workers and partitions & (partitions - 1) == 0
