"""Message texts from the catalogue (carewatch/catalogue/notices.py), short enough for SMS.

Each purpose has a subject (email subject, robot title) and a body (the whole text for SMS,
voice and robots; the email body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.outcomes import FalseAlarmReason, OutcomeKind
from carewatch.catalogue import LANGUAGES, Language, language_of, text

__all__ = ["LANGUAGES", "MAX_SMS_CHARS", "PURPOSES", "Rendered", "outcome_words", "render"]

PURPOSES = (
    "check_elder", "notify_family", "page_duty", "escalate_supervisor", "request_home_visit", "reminder", "update",
)
MAX_SMS_CHARS = 335
"""Five segments of a Chinese (UCS-2) SMS; longer texts lose the end of the explanation, never the link."""

_PARTS: dict[str, tuple[str, str, str | None]] = {
    # A phrase of the text: (the value it depends on, its key when that value is given, when not).
    "if_fine_link": ("link", "notice.part.if_fine_link", None),
    "report_link": ("link", "notice.part.report_link", None),
    "waited_subject": ("waited", "notice.part.waited_subject", "notice.part.urgent_subject"),
    "waited_body": ("waited", "notice.part.waited_body", "notice.part.urgent_body"),
    "by_actor": ("actor", "notice.part.by_actor", None),
    "with_outcome": ("outcome", "notice.part.with_outcome", None),
    "call_community": ("community_phone", "notice.part.call_community", "notice.part.call_community_office"),
    "family_call_community": ("community_phone", "notice.part.family_call_community", None),
    "call_elder": ("elder_phone", "notice.part.call_elder", None),
    "call_family": ("family_phone", "notice.part.call_family", None),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def render(purpose: str, language: str, context: dict[str, Any], *, short: bool = False) -> Rendered:
    """The subject and body; ``short`` trims the explanation until the body fits one SMS of MAX_SMS_CHARS."""
    lang = language_of(language)

    def said(values: dict[str, Any]) -> Rendered:
        parts = {}
        for name, (depends_on, given, missing) in _PARTS.items():
            key = given if values.get(depends_on) else missing
            parts[name] = text(key, lang, **values) if key else ""
        return Rendered(text(f"notice.{purpose}.subject", lang, **values, **parts), text(f"notice.{purpose}.body", lang, **values, **parts))

    values = dict(context)
    rendered = said(values)
    explanation = str(values.get("explanation", ""))
    while short and len(rendered.body) > MAX_SMS_CHARS and explanation:
        explanation = explanation[: max(0, len(explanation) - (len(rendered.body) - MAX_SMS_CHARS) - 1)]
        values["explanation"] = explanation + "…"
        rendered = said(values)
    return rendered


def outcome_words(language: Language, kind: OutcomeKind | None, reason: FalseAlarmReason | None) -> str:
    if kind is None:
        return ""
    outcome = text(f"outcome.{kind}", language)
    if reason is None:
        return outcome
    return text("notice.part.outcome_with_reason", language, outcome=outcome, reason=text(f"false_alarm_reason.{reason}", language))
