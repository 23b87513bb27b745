"""The evaluation as tables: one row per incident kind, detector sets side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from carewatch.cli.evaluation.matching import KindScore, Scorecard, nearest_rank
from carewatch.cli.evaluation.scenarios import FAMILIES, SuiteResult

KIND_ORDER = ("inactive", "gas_left_on", "water_left_on", "gateway_silent", "night_restless", "decline")


def _pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f} %"


def _hours(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def _rate(card: Scorecard) -> str:
    return f"{card.false_alarms_per_100_days:.2f} ({len(card.false_alarms)})"


def _check_in_rate(card: Scorecard) -> str:
    """Check-ins per 100 household-days, and in brackets those no inactivity explains (the elder was fine)."""
    if not card.household_days:
        return "–"
    return f"{card.check_ins_per_100_days:.2f} ({100 * card.check_ins_unexplained / card.household_days:.2f})"


def _technician_rate(card: Scorecard) -> str:
    """All technician alerts per 100 household-days, and in brackets those no incident explains."""
    return f"{card.technician_alerts_per_100_days:.2f} ({card.technician_unexplained_per_100_days:.2f})"


def incident_rows(result: SuiteResult) -> tuple[list[str], list[list[str]]]:
    sets = result.detector_sets
    header = ["incident", "n"]
    for name in sets:
        header += [f"{name}: recall", "median h", "p90 h"]
    cards = {name: result.total(name) for name in sets}
    kinds = [k for k in KIND_ORDER if any(k in c.kinds for c in cards.values())]
    kinds += sorted({k for c in cards.values() for k in c.kinds} - set(kinds))
    rows = []
    for kind in kinds:
        row = [kind, str(next(c.kinds[kind].incidents for c in cards.values() if kind in c.kinds))]
        for name in sets:
            score = cards[name].kinds.get(kind, KindScore(kind, 0, ()))
            row += [_pct(score.recall), _hours(score.median_h), _hours(score.p90_h)]
        rows.append(row)
        if kind == "inactive":
            # The soft tier: when the elder was first asked (a check-in, or the first alert's own question).
            row = ["inactive: first check-in (recall = share asked before any alert)", row[1]]
            for name in sets:
                card = cards[name]
                first = card.first_contact
                share = card.asked / first.incidents if first.incidents else math.nan
                row += [_pct(share), _hours(first.median_h), _hours(first.p90_h)]
            rows.append(row)
    days = next(iter(cards.values())).household_days if cards else 0.0
    row = ["false alarms / 100 household-days (count)", f"{days:.0f} d"]
    for name in sets:
        row += [_rate(cards[name]), "", ""]
    rows.append(row)
    row = ["check-ins / 100 household-days (elder fine)", f"{days:.0f} d"]
    for name in sets:
        row += [_check_in_rate(cards[name]), "", ""]
    rows.append(row)
    row = ["technician alerts / 100 household-days (unexplained)", f"{days:.0f} d"]
    for name in sets:
        row += [_technician_rate(cards[name]), "", ""]
    rows.append(row)
    return header, rows


def family_rows(result: SuiteResult) -> tuple[list[str], list[list[str]]]:
    sets = result.detector_sets
    header = ["scenario family", "household-days", "inactive n"]
    for name in sets:
        header += [
            f"{name}: inactivity recall", "median h", "first check-in median h", "false alarms / 100 d",
            "check-ins / 100 d (fine)", "technician / 100 d (unexplained)",
        ]
    rows = []
    for family in FAMILIES:
        if family.name not in result.suite.families:
            continue
        cards = {name: result.family(family.name, name) for name in sets}
        first = next(iter(cards.values()))
        inactive = first.kinds.get("inactive", KindScore("inactive", 0, ()))
        row = [family.name, f"{first.household_days:.0f}", str(inactive.incidents)]
        for name in sets:
            score = cards[name].kinds.get("inactive", KindScore("inactive", 0, ()))
            row += [
                _pct(score.recall), _hours(score.median_h), _hours(cards[name].first_contact.median_h), _rate(cards[name]),
                _check_in_rate(cards[name]), _technician_rate(cards[name]),
            ]
        rows.append(row)
    return header, rows


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def false_alarm_types(result: SuiteResult) -> dict[str, dict[str, int]]:
    return {name: dict(sorted(result.total(name).by_type.items())) for name in result.detector_sets}


def summary_document(result: SuiteResult) -> dict[str, object]:
    """Everything the tables say, as JSON-ready values."""
    sets = result.detector_sets
    document: dict[str, object] = {
        "suite": {
            "households_per_shard": result.suite.households,
            "shards": result.suite.shards,
            "days": result.suite.days,
            "warmup_days": result.suite.warmup_days,
            "seed": result.suite.seed,
            "families": list(result.suite.families),
        },
        "readings": result.readings,
    }
    for name in sets:
        card = result.total(name)
        document[name] = {
            "household_days": round(card.household_days, 1),
            "false_alarms": len(card.false_alarms),
            "false_alarms_per_100_household_days": round(card.false_alarms_per_100_days, 3),
            "false_alarm_types": dict(sorted(card.by_type.items())),
            "technician_alerts": card.technician_alerts,
            "technician_alerts_per_100_household_days": round(card.technician_alerts_per_100_days, 3),
            "technician_alerts_unexplained": card.technician_unexplained,
            "check_ins": card.check_ins,
            "check_ins_per_100_household_days": round(card.check_ins_per_100_days, 3),
            "check_ins_unexplained": card.check_ins_unexplained,
            "inactive_first_check_in": {
                "asked": card.asked,
                "n": card.first_contact.incidents,
                "median_h": None if math.isnan(card.first_contact.median_h) else round(card.first_contact.median_h, 2),
                "p90_h": None if math.isnan(card.first_contact.p90_h) else round(card.first_contact.p90_h, 2),
            },
            "state_bytes_median": sizes[len(sizes) // 2] if (sizes := result.state_bytes(name)) else None,
            "state_bytes_max": sizes[-1] if sizes else None,
            "families": {
                family: {
                    "household_days": round(part.household_days, 1),
                    "false_alarms": len(part.false_alarms),
                    "technician_alerts": part.technician_alerts,
                    "technician_alerts_unexplained": part.technician_unexplained,
                    "check_ins": part.check_ins,
                    "inactive_first_check_in_median_h": None
                    if math.isnan(part.first_contact.median_h)
                    else round(part.first_contact.median_h, 2),
                    "gateway_silent_recall": round(part.kinds["gateway_silent"].recall, 4)
                    if "gateway_silent" in part.kinds
                    else None,
                }
                for family in result.suite.families
                for part in (result.family(family, name),)
            },
            "incidents": {
                kind: {
                    "n": s.incidents,
                    "recall": round(s.recall, 4),
                    "median_delay_h": None if math.isnan(s.median_h) else round(s.median_h, 2),
                    "p90_delay_h": None if math.isnan(s.p90_h) else round(s.p90_h, 2),
                }
                for kind, s in sorted(card.kinds.items())
            },
        }
    return document


def render(result: SuiteResult, console: Console, as_markdown: bool = False) -> None:
    """Print both tables: Markdown (for docs/) or terminal tables."""
    tables = [("By incident type", *incident_rows(result)), ("By scenario family", *family_rows(result))]
    for title, header, rows in tables:
        if as_markdown:
            console.print(f"\n**{title}**\n\n{markdown(header, rows)}", markup=False, highlight=False, soft_wrap=True)
            continue
        table = Table(title=title)
        for name in header:
            table.add_column(name, justify="left" if name in header[:1] else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for name in result.detector_sets:
        sizes = result.state_bytes(name)
        if sizes:
            console.print(
                f"state of {name}, pickled per household: median {sizes[len(sizes) // 2]} B, "
                f"p90 {nearest_rank(sizes, 0.9):.0f} B, max {sizes[-1]} B",
                markup=False, highlight=False, soft_wrap=True,
            )
    for name, types in false_alarm_types(result).items():
        console.print(
            f"false alarms of {name}, by alert type: {types or 'none'}", markup=False, highlight=False, soft_wrap=True
        )
