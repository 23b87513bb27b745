"""The alert history as a file: CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
Chinese) and XLSX (openpyxl), with the column names and values in the reader's language."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from openpyxl import Workbook

from api.console_view import AlertRow
from carewatch.catalogue import Language, text

COLUMNS = ("alert_id", "raised", "site", "household_id", "household", "type", "severity", "status", "outcome",
           "acknowledged", "resolved", "notes")
"""Each column's heading is ``export.<name>`` in the catalogue."""


def headings(lang: Language) -> list[str]:
    return [text(f"export.{name}", lang) for name in COLUMNS]


def records(rows: Iterable[AlertRow], site_names: Mapping[str, str]) -> list[list[str]]:
    """One list of cells per alert, in the order of COLUMNS; times are the household's local time."""
    found = []
    for row in rows:
        resolution = next((d for d in reversed(row.decisions) if d.action == "resolved"), None)
        if resolution is not None:
            resolved = f"{resolution.actor} {resolution.at}"
        else:
            resolved = f"{row.status_words} {row.status_at}" if row.status.value == "auto_resolved" else ""
        found.append([
            row.id, row.raised, site_names.get(row.site or "", row.site or ""), row.household_id, row.household_name,
            row.type_words, row.severity_words, row.status_words, row.outcome_words,
            f"{row.acknowledged_by} {row.acknowledged_at}" if row.acknowledged_by else "",
            resolved,
            " | ".join(f"{d.actor} ({d.at}): {d.note}" for d in row.decisions if d.note),
        ])
    return found


def as_csv(heading: Sequence[str], cells: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(heading)
    writer.writerows([_safe_cell(value) for value in record] for record in cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(heading: Sequence[str], cells: Iterable[Sequence[str]], sheet_title: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title[:31])  # Excel's limit on a sheet's name
    sheet.append(list(heading))
    for record in cells:
        sheet.append([_safe_cell(value) for value in record])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """A cell that starts like a formula stays text: a spreadsheet must not run what a person typed (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
