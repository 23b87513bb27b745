"""Message texts from Jinja2 templates (alerts/templates/<language>/<purpose>.j2), short enough for SMS.

Each template has a ``subject`` block (email subject, robot title) and a ``body`` block
(the whole text for SMS, voice and robots; the email body).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alerts.outcomes import FalseAlarmReason, OutcomeKind
from carewatch.domain import AlertType, Severity

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("zh-CN", "en")
PURPOSES = (
    "check_elder", "notify_family", "page_duty", "escalate_supervisor", "request_home_visit", "reminder", "update",
)
MAX_SMS_CHARS = 335
"""Five segments of a Chinese (UCS-2) SMS; longer texts lose the end of the explanation, never the link."""

_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

TYPE_LABEL: dict[str, dict[AlertType, str]] = {
    "zh-CN": {
        AlertType.NO_GAS_24H: "24小时未用燃气",
        AlertType.NO_WATER_24H: "24小时未用水",
        AlertType.NO_ACTIVITY_24H: "24小时未用气也未用水",
        AlertType.GAS_CONTINUOUS: "燃气长时间未关",
        AlertType.WATER_CONTINUOUS: "长时间持续用水",
        AlertType.HIGH_GAS_USE: "燃气用量异常偏高",
        AlertType.HIGH_WATER_USE: "用水量异常偏高",
        AlertType.METER_SILENT: "表具未上报数据",
        AlertType.METER_REGISTER_FAULT: "表具读数异常",
        AlertType.MORNING_ACTIVITY_MISSING: "早上未见用水用气",
        AlertType.UNUSUAL_QUIET: "无用水用气时间超出平常",
        AlertType.SUSTAINED_DECLINE: "用水用气量持续下降",
        AlertType.UNUSUAL_NIGHT_USE: "夜间用水用气异常增多",
        AlertType.UNUSUAL_SPIKE: "单日用量远超平常",
    },
    "en": {
        AlertType.NO_GAS_24H: "No gas used in 24 hours",
        AlertType.NO_WATER_24H: "No water used in 24 hours",
        AlertType.NO_ACTIVITY_24H: "No gas or water used in 24 hours",
        AlertType.GAS_CONTINUOUS: "Gas left on for hours",
        AlertType.WATER_CONTINUOUS: "Water running for hours",
        AlertType.HIGH_GAS_USE: "Unusually high gas use",
        AlertType.HIGH_WATER_USE: "Unusually high water use",
        AlertType.METER_SILENT: "Meter not reporting",
        AlertType.METER_REGISTER_FAULT: "Meter register fault",
        AlertType.MORNING_ACTIVITY_MISSING: "No use this morning",
        AlertType.UNUSUAL_QUIET: "Quiet for longer than usual",
        AlertType.SUSTAINED_DECLINE: "Use declining for days",
        AlertType.UNUSUAL_NIGHT_USE: "Unusual use at night",
        AlertType.UNUSUAL_SPIKE: "A day's use far above usual",
    },
}
SEVERITY_LABEL = {
    "zh-CN": {Severity.CRITICAL: "紧急", Severity.WARNING: "警告", Severity.INFO: "提示"},
    "en": {Severity.CRITICAL: "Critical", Severity.WARNING: "Warning", Severity.INFO: "Info"},
}
OUTCOME_LABEL = {
    "zh-CN": {
        OutcomeKind.SAFE: "平安", OutcomeKind.UNWELL: "身体不适，已安排帮助", OutcomeKind.HOSPITALISED: "已送医",
        OutcomeKind.FALSE_ALARM: "误报", OutcomeKind.UNREACHABLE: "暂时联系不上",
    },
    "en": {
        OutcomeKind.SAFE: "safe", OutcomeKind.UNWELL: "unwell, help sent", OutcomeKind.HOSPITALISED: "taken to hospital",
        OutcomeKind.FALSE_ALARM: "false alarm", OutcomeKind.UNREACHABLE: "could not be reached yet",
    },
}
REASON_LABEL = {
    "zh-CN": {FalseAlarmReason.AWAY: "外出", FalseAlarmReason.METER_FAULT: "表具故障", FalseAlarmReason.OTHER: "其他"},
    "en": {FalseAlarmReason.AWAY: "away", FalseAlarmReason.METER_FAULT: "meter fault", FalseAlarmReason.OTHER: "other"},
}
CLOSED_LABEL = {
    "zh-CN": {"acknowledged": "值班人员已接手", "resolved": "已处理完毕", "auto_resolved": "用气用水已恢复正常"},
    "en": {"acknowledged": "duty staff have taken it on", "resolved": "it has been handled", "auto_resolved": "normal use has resumed"},
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def language_of(code: str) -> str:
    return "en" if code.lower().startswith("en") else "zh-CN"


def render(purpose: str, language: str, context: dict[str, Any], *, short: bool = False) -> Rendered:
    """The subject and body; ``short`` trims the explanation until the body fits one SMS of MAX_SMS_CHARS."""
    template = _env.get_template(f"{language_of(language)}/{purpose}.j2")

    def block(name: str, values: dict[str, Any]) -> str:
        return "".join(template.blocks[name](template.new_context(values))).strip()

    values = dict(context)
    body = block("body", values)
    explanation = str(values.get("explanation", ""))
    while short and len(body) > MAX_SMS_CHARS and explanation:
        explanation = explanation[: max(0, len(explanation) - (len(body) - MAX_SMS_CHARS) - 1)]
        values["explanation"] = explanation + "…"
        body = block("body", values)
    return Rendered(block("subject", values), body)


def outcome_words(language: str, kind: OutcomeKind | None, reason: FalseAlarmReason | None) -> str:
    if kind is None:
        return ""
    lang = language_of(language)
    words = OUTCOME_LABEL[lang][kind]
    return f"{words}（{REASON_LABEL[lang][reason]}）" if reason and lang == "zh-CN" else (
        f"{words} ({REASON_LABEL[lang][reason]})" if reason else words
    )
