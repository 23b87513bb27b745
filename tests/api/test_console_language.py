"""Every console page renders in both languages from the one catalogue, and a Chinese page shows no English word and no raw code."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
import pytest

from alerts.outbox import NewMessage, enqueue
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from api.models import Role
from carewatch.domain import AlertType
from tests.api.conftest import DISTRICT

PAGES = ["/", "/households", "/households?q=hh", "/households/hh-001", "/households/hh-003", "/notifications"]

ALLOWED = {"m", "L", "UTC", "JSON"}
"""Latin a Chinese reader is expected to read: the cubic metre (m³), litres, a zone's offset from UTC, and the name of a data format."""

LATIN = re.compile(r"[A-Za-z][A-Za-z_]*")
ALERT_ID = re.compile(r"hh-\d+\.[a-z0-9_]+\.\d{8}T\d{6}Z")
"""An alert's reference number (编号, as the messages call it) is data, as household and meter ids are."""
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d")


class ReadableText(HTMLParser):
    """What a person reads on a page: text and the title/aria-label/placeholder attributes, minus scripts, styles and
    anything marked ``lang="en"`` (the language switch's "English")."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.open_tags: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        skip = tag in ("script", "style") or attributes.get("lang") == "en"
        if tag not in ("input", "meta", "link", "br", "img", "line", "rect"):
            self.open_tags.append((tag, skip))
        if not skip and not any(s for _, s in self.open_tags[:-1]):
            self.parts += [v for k, v in attrs if k in ("title", "aria-label", "placeholder") and v]

    def handle_endtag(self, tag: str) -> None:
        while self.open_tags:
            if self.open_tags.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not any(skip for _, skip in self.open_tags):
            self.parts.append(data)


def readable(page: str, data: list[str]) -> str:
    parser = ReadableText()
    parser.feed(page)
    text = ALERT_ID.sub(" ", " ".join(parser.parts))
    for value in sorted(data, key=len, reverse=True):  # names, addresses and ids are data, whatever their script
        text = text.replace(value, " ")
    return text


def directory_data(signed_in_as: str) -> list[str]:
    values = [signed_in_as]
    for household in DISTRICT["households"]:
        values += [household["household_id"], household.get("name", ""), household.get("address", ""), household.get("phone", "")]
        values += [meter["meter_id"] for meter in household["meters"]]
    return [v for v in values if v]


@pytest.fixture
async def busy_console(make_client, store, make_detection, sessions) -> httpx.AsyncClient:
    """A console with something on every page: open, acknowledged and device alerts, and an audit trail."""
    client = await make_client(Role.ADMIN)
    no_gas, flowing = make_detection("hh-001"), make_detection("hh-001", AlertType.GAS_CONTINUOUS)
    await store.apply([no_gas, flowing, make_detection("hh-003", AlertType.METER_SILENT)])
    await store.acknowledge(no_gas.alert_id, "李明", "已电话联系", Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))
    async with sessions.begin() as session:  # the notifications log: a message held for quiet hours
        await enqueue(session, [NewMessage(
            idempotency_key="k1", alert_id=flowing.alert_id, household_id="hh-001", purpose="notify_family", recipient_id="hh-001.son",
            recipient_name="张强", recipient_role="family", channel="sms", address="+8613700000001", language="zh-CN",
            subject="请联系张桂兰", body="燃气长时间使用", hold_until=datetime(2030, 1, 1, tzinfo=UTC),
        )], datetime.now(UTC))
    return client


@pytest.mark.parametrize("path", PAGES)
async def test_a_chinese_page_shows_no_english_word_and_no_raw_code(busy_console: httpx.AsyncClient, path: str):
    response = await busy_console.get(path, params={"lang": "zh-CN"})
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    text = readable(response.text, directory_data("admin 1"))
    assert sorted(set(LATIN.findall(text)) - ALLOWED) == []
    assert ISO_TIME.findall(text) == []


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders_in_both_languages(busy_console: httpx.AsyncClient, path: str, lang: str):
    """A key missing from the catalogue raises while rendering: the page would be a 500, not a blank label."""
    response = await busy_console.get(path, params={"lang": lang})
    assert response.status_code == 200 and f'<html lang="{lang}">' in response.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_the_sign_in_page_renders_in_both_languages(make_client, lang: str):
    anonymous = await make_client(None)
    response = await anonymous.get("/login", params={"lang": lang})
    assert response.status_code == 200 and f'<html lang="{lang}">' in response.text
    if lang == "zh-CN":
        assert sorted(set(LATIN.findall(readable(response.text, []))) - ALLOWED) == []


async def test_the_household_search_button_has_a_label(busy_console: httpx.AsyncClient):
    page = (await busy_console.get("/households", params={"lang": "zh-CN"})).text
    assert "<button>搜索</button>" in page and 'aria-label="搜索"' in page
