"""The one message catalogue (carewatch/catalogue): every entry in both languages, every key the code asks for exists."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from alerts.lifecycle import DETECTOR_ACTOR, LADDER_ACTOR, AlertStatus, AuditAction
from alerts import messages
from alerts.messages import PURPOSES
from alerts.notify_tables import LadderState, MessageStatus
from alerts.outcomes import FalseAlarmReason, OutcomeKind
from alerts.people import ChannelKind
from alerts.people import CareRole
from alerts.policy import Action
from carewatch.catalogue import CATALOGUE, LANGUAGES, MissingMessage, text
from carewatch.domain import AlertType, MeterFlag, RejectReason, Severity
from detectors.meter_health import HEALTH_ALERTS

ROOT = Path(__file__).resolve().parent.parent


def incomplete(catalogue) -> list[str]:  # type: ignore[no-untyped-def]
    """Why each entry is not ready for a reader of every language: empty text, or fields that differ."""
    problems = []
    for key, entry in catalogue.items():
        for lang in LANGUAGES:
            if not entry.text(lang).strip():
                problems.append(f"{key}: no {lang} text")
        if entry.fields("zh-CN") != entry.fields("en"):
            problems.append(f"{key}: fields differ, zh-CN {sorted(entry.fields('zh-CN'))} vs en {sorted(entry.fields('en'))}")
    return problems


def test_every_entry_has_chinese_and_english_with_the_same_fields():
    assert incomplete(CATALOGUE) == []


def test_an_entry_missing_a_translation_is_caught():
    from carewatch.catalogue import Message

    assert incomplete({"ui.search": Message("搜索", "")}) == ["ui.search: no en text"]
    assert incomplete({"ui.reminders": Message("已提醒{n}次", "reminders sent")}) == [
        "ui.reminders: fields differ, zh-CN ['n'] vs en []"
    ]


ENUM_SECTIONS: list[tuple[str, type[StrEnum] | list[str]]] = [
    ("alert_type", AlertType), ("severity", Severity), ("status", AlertStatus), ("reject_reason", RejectReason),
    ("audit_action", AuditAction), ("outcome", OutcomeKind), ("false_alarm_reason", FalseAlarmReason),
    ("ladder_step", Action), ("ladder_state", LadderState), ("message_status", MessageStatus),
    ("channel", ChannelKind), ("meter_flag", MeterFlag), ("recipient_role", CareRole), ("system_actor", [DETECTOR_ACTOR, LADDER_ACTOR]),
    ("closed", [AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED, AlertStatus.AUTO_RESOLVED]),
]


@pytest.mark.parametrize(("section", "values"), ENUM_SECTIONS, ids=[s for s, _ in ENUM_SECTIONS])
def test_every_value_a_person_may_read_about_has_words(section, values):
    assert [v for v in values if f"{section}.{v}" not in CATALOGUE] == []


def test_every_column_of_the_history_export_has_a_heading():
    from api.history_export import COLUMNS

    assert [c for c in COLUMNS if f"export.{c}" not in CATALOGUE] == []


def test_every_message_purpose_has_a_subject_and_a_body():
    assert [p for p in PURPOSES for part in ("subject", "body") if f"notice.{p}.{part}" not in CATALOGUE] == []


def test_every_key_of_the_runners_live_status_has_words(sessions):
    from carewatch.registry import Registry
    from carewatch.settings import Settings
    from carewatch.runners.embedded.pipeline import Pipeline

    pipeline = Pipeline(registry=Registry([]), sessions=sessions, settings=Settings(_env_file=None))  # type: ignore[call-arg]
    alert_service = {"detections", "ingest_reports", "readings_booked", "event_time", "archive_backlog"}  # AlertService.status (archive_backlog: either runner, archive on)
    assert [k for k in set(pipeline.status()) | alert_service if f"live_status.{k}" not in CATALOGUE] == []


TEMPLATE_LOOKUPS = [
    # (how a template names an entry, the section it is in)
    (re.compile(r"\bwords\.(\w+)"), "ui"),
    (re.compile(r"\bwords\[['\"]([\w:]+)['\"]\]"), "ui"),
    (re.compile(r"\bunits\.(\w+)"), "unit"),
]
CODE_LOOKUPS = [
    re.compile(r"\btext\(\s*\"([\w.:]+)\""),  # text("ui.bad_login", lang)
    re.compile(r"\bsaid\.(\w+)\b(?!\()"),  # the family page: said.gone → family.gone
]


EXPLANATION_LOOKUP = re.compile(r"\b(?:_say|_phrase)\(\s*f?\"([^\"]+)\"|message\(f?\"(explain\.[^\"]+)\"")
EXPLANATION_CHOICES = {"{kind}": ["gas", "water"], "{kinds[0]}": ["gas", "water"], "{other}": ["gas", "water"], "{_meters(kinds)}": ["gas", "water", "both"],
                       "{_how_many(meter_ids)}": ["one", "many"], "{how}": ["used", "fine", "unanswered", "superseded"],
                       "{lesson}": ["went_out", "meter_fault"],
                       "{alert_type.value}": [a.value for a in HEALTH_ALERTS], "{flag.value}": [f.value for f in MeterFlag]}
"""What the f-string keys of detectors/explain.py can become."""


def explanation_keys() -> set[str]:
    keys = set()
    for short, full in EXPLANATION_LOOKUP.findall((ROOT / "detectors" / "explain.py").read_text()):
        if full == "explain.{key}":
            continue  # the helpers _say and _phrase themselves
        pending = [full or f"explain.{short}"]
        while pending:
            key = pending.pop()
            hole = next((h for h in EXPLANATION_CHOICES if h in key), None)
            if hole is None:
                keys.add(key)
            else:
                pending += [key.replace(hole, choice, 1) for choice in EXPLANATION_CHOICES[hole]]
    return keys


def used_keys() -> set[str]:
    keys = set()
    for template in (ROOT / "api" / "templates").glob("*.html"):
        source = template.read_text()
        for pattern, section in TEMPLATE_LOOKUPS:
            keys |= {f"{section}.{name}" for name in pattern.findall(source) if name not in ("get", "format")}
    for module in [*ROOT.glob("api/**/*.py"), *ROOT.glob("alerts/**/*.py"), *ROOT.glob("detectors/*.py")]:
        source = module.read_text()
        keys |= set(CODE_LOOKUPS[0].findall(source))
        keys |= {f"family.{name}" for name in CODE_LOOKUPS[1].findall(source)}
    keys |= {key for _, given, missing in messages._PARTS.values() for key in (given, missing) if key}
    keys |= explanation_keys()
    return keys


def test_every_key_the_templates_and_code_ask_for_exists():
    keys = used_keys()
    # The scan finds what it should: a template's, a route's and a detector's key.
    assert {"ui.search", "ui.bad_login", "explain.quiet.later.both", "explain.check.water"} <= keys
    assert sorted(k for k in keys if k not in CATALOGUE) == []


def test_a_missing_key_fails_loudly_even_in_a_template():
    from jinja2 import Environment

    from carewatch.catalogue import words

    with pytest.raises(MissingMessage, match='"ui.no_such_button"'):
        Environment().from_string("<button>{{ words.no_such_button }}</button>").render(words=words("ui", "zh-CN"))
    with pytest.raises(MissingMessage):
        text("ui.no_such_button", "en")


RAW_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def test_no_entry_shows_a_raw_code_to_its_reader():
    """A snake_case identifier (``no_activity_24h``) is for programs: a person reads the alert type's name.
    Placeholders (``{family_call_community}``) are filled in and do not count."""
    found = []
    for key, entry in CATALOGUE.items():
        for lang in LANGUAGES:
            said = re.sub(r"\{[^{}]*\}", " ", entry.text(lang))
            found += [f"{key} ({lang}): {code}" for code in RAW_CODE.findall(said)]
    assert found == []
