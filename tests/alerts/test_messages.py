"""Message templates: every purpose in both languages renders, fits an SMS, and never loses its link."""

from __future__ import annotations

import pytest

from alerts.messages import LANGUAGES, MAX_SMS_CHARS, PURPOSES, render

LINK = "http://127.0.0.1:8000/f/" + "x" * 110
CONTEXT = {
    "elder": "张桂兰", "recipient": "王芳（女儿）", "household": "张桂兰", "address": "幸福路12号3单元401",
    "type_label": "24小时未用燃气", "severity": "紧急", "since": "自15:30起", "alert_id": "hh-001.no_gas_24h.20250301T073000Z",
    "link": LINK, "reminder": 2, "waited": "45分钟", "closed": "已处理完毕", "actor": "李明", "outcome": "平安",
    "explanation": "自昨天15:30起24小时内未使用燃气（用量0.000立方米），而平时每天约用0.8立方米。" * 6,
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_message_fits_an_sms_and_keeps_its_link(purpose, language):
    text = render(purpose, language, CONTEXT, short=True)
    assert text.subject and text.body
    assert len(text.body) <= MAX_SMS_CHARS
    if purpose in ("check_elder", "notify_family"):
        assert LINK in text.body


def test_email_keeps_the_whole_explanation():
    assert CONTEXT["explanation"] in render("notify_family", "zh-CN", CONTEXT).body


def test_the_escalation_of_a_safety_alert_does_not_claim_a_wait():
    body = render("escalate_supervisor", "zh-CN", {**CONTEXT, "waited": ""}).body
    assert "无人确认" not in body and "紧急" in body
