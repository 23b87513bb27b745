"""Issue 15 item 3, in a real browser: every page a person reads, walked in Chinese and in English.

An admin signs in once and follows the console from the board (every page the console serves, found by following
its links and checked against the app's routes, so a new page cannot be left out), then the sign-in page and the
pages a family member and an elder open from a message. On each page the test reads what a person reads (text,
tooltips, labels, placeholders) and fails on:

- a Latin word on a Chinese page, or Chinese on an English page, that is not data (names, addresses, notes people wrote);
- a raw code: a snake_case identifier, a community's code where it has a name, a UTC timestamp, a Python ``None``;
- a control a screen reader cannot name: a button or link without text or aria-label, a field without a label.

The SMS, email and robot texts the ladder wrote are held to the same rules in their reader's language.
Screenshots of every page go to test-artifacts/walk/ for a person to look at.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from alerts.family_links import LinkClaim
from alerts.ladder import AlertLadder
from alerts.notifications import family_links
from alerts.notify_tables import OutboxMessage
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.rota import RotaOverride
from alerts.silences import SiteSilence
from alerts.store import AlertStore
from api.app import create_app
from api.auth import create_user
from api.directory_import import import_document
from api.models import Role, ShiftHandoff
from carewatch.directory import Absence
from carewatch.domain import AlertType, Detection, Explanation, MeterKind, Severity, Transition
from carewatch.registry import Registry
from carewatch.settings import Settings
from detectors import explain
from tests.alerts.conftest import FakeClock
from tests.api.live import served
from tests.console.conftest import ARTIFACTS, PASSWORD, screenshot, signed_in

pytestmark = pytest.mark.service

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITES = {"beiguan": "北关社区", "nanhu": "南湖社区"}
DAUGHTER = {"id": "hh-001.daughter", "name": "王芳", "relation": "女儿", "channels": [{"kind": "sms", "address": "+8613700000001"}]}
SON = {"id": "hh-001.son", "name": "Wang Lei", "relation": "son", "language": "en",
       "channels": [{"kind": "email", "address": "lei@family.example"}]}
DIRECTORY = {
    "version": 1,
    "sites": [{"site_id": "beiguan", "name": "北关社区", "phone": "0532-8000 1234"}, {"site_id": "nanhu", "name": "南湖社区", "timezone": "Asia/Urumqi"}],
    "gateways": [{"gateway_id": "gw-bg", "site": "beiguan", "name": "北关1号楼网关"}, {"gateway_id": "gw-nh", "site": "nanhu"}],
    "households": [
        {"household_id": "hh-001", "name": "张桂兰", "site": "beiguan", "address": "幸福路12号3单元401", "phone": "+86 532 8888 0001",
         "gateway_id": "gw-bg", "birth_year": 1941, "notes": "耳背，请大声说话", "contacts": [DAUGHTER, SON],
         "meters": [{"meter_id": "gas-001", "kind": "gas"}, {"meter_id": "water-001", "kind": "water"}]},
        {"household_id": "hh-002", "name": "赵秀英", "site": "beiguan", "address": "幸福路14号1单元102", "gateway_id": "gw-bg",
         "meters": [{"meter_id": "gas-002", "kind": "gas"}]},
        {"household_id": "hh-003", "name": "李秀英", "site": "nanhu", "gateway_id": "gw-nh", "timezone": "Asia/Urumqi",  # Xinjiang time
         "meters": [{"meter_id": "gas-003", "kind": "gas"}]},
    ],
}
PEOPLE = {  # who is on duty and whom the ladder calls
    "version": 1,
    "sites": [
        {"site": "beiguan", "name": "北关社区", "staff": [
            {"id": "bg-day", "name": "李明", "role": "duty", "channels": [{"kind": "sms", "address": "+8613800000001"}]},
            {"id": "bg-night", "name": "王强", "role": "duty", "channels": [{"kind": "email", "address": "wang.qiang@beiguan.example"}]},
            {"id": "bg-boss", "name": "陈主任", "role": "supervisor", "channels": [{"kind": "sms", "address": "+8613800000009"}]},
        ], "rota": [{"staff": "bg-day", "start": "08:00", "end": "20:00"}, {"staff": "bg-night", "start": "20:00", "end": "08:00"}],
         "group_robots": [{"kind": "wecom", "address": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo"}]},
        {"site": "nanhu", "name": "南湖社区", "staff": [
            {"id": "nh-day", "name": "周敏", "role": "duty", "channels": [{"kind": "sms", "address": "+8613800000011"}]},
            {"id": "nh-boss", "name": "孙主任", "role": "supervisor", "channels": [{"kind": "sms", "address": "+8613800000019"}]},
        ], "rota": [{"staff": "nh-day", "start": "00:00", "end": "00:00"}]},
    ],
    "households": [
        {"household_id": "hh-001", "site": "beiguan", "name": "张桂兰", "address": "幸福路12号3单元401",
         "elder": {"name": "张桂兰", "channels": [{"kind": "voice", "address": "+8613900000001"}]},
         "contacts": [{**DAUGHTER}, {**SON}]},
        {"household_id": "hh-002", "site": "beiguan", "name": "赵秀英", "contacts": []},
        {"household_id": "hh-003", "site": "nanhu", "name": "李秀英", "contacts": []},
    ],
}
WRITTEN = [  # what people typed: data, in whatever language they typed it
    "女儿说老人去她家住两天", "燃气公司上门检修", "东区燃气管道维修，全片停气", "病假", "住院复查",
    "hh-002 的燃气表还没有恢复上报，请早班联系燃气公司。", "已上门，老人平安",
]
NOT_PAGES = {"/console/board/stream", "/history/export.csv", "/history/export.xlsx", "/sites/{site_id}/reports/{month}.csv",
             "/notifications/mail/{key}", "/docs", "/redoc", "/metrics", "/livez", "/healthz", "/readyz"}
"""GET routes outside /api/ that are not pages a person reads here: the live stream, downloads (tested in
test_history_in_browser), the demo's caught mail (plain text as received), the API's own pages, probes."""

ALLOWED_LATIN = {"m", "L", "UTC", "CSV", "Excel"}
"""Latin a Chinese reader is expected to read: the cubic metre (m³), litres, a zone's offset from UTC, and the names of two
file formats."""
LATIN = re.compile(r"[A-Za-z][A-Za-z_]*")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
RAW = {
    "snake_case code": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    "UTC timestamp": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|\+00:00)\b"),
    "community code": re.compile(rf"\b(?:{'|'.join(SITES)})\b"),
    "Python value": re.compile(r"\bNone\b|\b(?:True|False)\b(?![ -]alarm)|\{'|'\}"),
}
DATA_PATTERNS = [
    re.compile(r"hh-\d+\.[a-z0-9_]+\.\d{8}T\d{6}Z"),  # an alert's reference number (编号), as households' and meters' ids
    re.compile(r"(?<![A-Za-z0-9])(?:hh|gas|water|gw)-[a-z0-9-]+"),  # next to Chinese: no \b there
    re.compile(r"https?://\S+"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    re.compile(r"\+?\d[\d -]{6,}\d"),
]

READABLE_JS = """pageLang => {
  const foreign = el => { const l = el.closest('[lang]'); return l !== null && l.getAttribute('lang') !== pageLang; };
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script,style,noscript,template') || foreign(el)) continue;
    const t = n.nodeValue.trim();
    if (t) parts.push(t);
  }
  for (const el of document.querySelectorAll('[title],[aria-label],[placeholder],[alt],input[type=submit],input[type=button]')) {
    if (foreign(el)) continue;
    for (const a of ['title', 'aria-label', 'placeholder', 'alt']) { const v = el.getAttribute(a); if (v) parts.push(v); }
    if (el.matches('input[type=submit],input[type=button]')) parts.push(el.value);
  }
  return parts;
}"""

UNNAMED_JS = """() => {
  const named = el => ((el.getAttribute('aria-label') || el.getAttribute('title') || '').trim() !== '') || el.hasAttribute('aria-labelledby');
  const described = el => el.outerHTML.replace(/\\s+/g, ' ').slice(0, 140);
  const bad = [];
  for (const el of document.querySelectorAll('button, a[href], summary')) {
    if (!el.textContent.trim() && !named(el) && !el.querySelector('img[alt]')) bad.push(described(el));
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')) {
    const labelled = named(el) || el.closest('label') !== null || (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'));
    if (!labelled) bad.push(described(el));
  }
  return bad;
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"""


def problems_in(parts: list[str], lang: str, data: list[str], quoted: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """What a reader of ``lang`` should not find in ``parts`` once the data is taken out: first whole messages quoted
    as they were sent (``quoted``), then names, addresses and what people wrote (``data``)."""
    text = "\n".join(parts)
    for value in [*quoted, *data]:  # longest first: a name inside an address goes with the address
        text = text.replace(value, " ")
    for pattern in DATA_PATTERNS:
        text = pattern.sub(" ", text)
    found = [f"{kind}: {m.group(0)!r} in …{text[max(0, m.start() - 30):m.end() + 30]!r}…"
             for kind, pattern in RAW.items() for m in pattern.finditer(text)]
    if lang == "zh-CN":
        found += [f"English on a Chinese page: {word!r}" for word in sorted(set(LATIN.findall(text)) - ALLOWED_LATIN)]
    else:
        found += [f"Chinese on an English page: {run!r}" for run in sorted(set(CJK.findall(text)))]
    return found


def detection(household_id: str, alert_type: AlertType, words: Explanation, at: datetime, *, severity: Severity = Severity.CRITICAL,
              meter_ids: tuple[str, ...] = ("gas-001",)) -> Detection:
    return Detection(household_id=household_id, alert_type=alert_type, transition=Transition.RAISED, onset=at - timedelta(hours=24),
                     at=at, severity=severity, explanation=words, meter_ids=meter_ids, facts={"used_m3": 0.0})


def page_routes(app) -> set[str]:  # type: ignore[no-untyped-def]
    from fastapi import routing

    flat = routing.iter_route_contexts(app.routes) if hasattr(routing, "iter_route_contexts") else app.routes
    paths = {getattr(r, "route", r).path for r in flat if isinstance(getattr(r, "route", r), APIRoute) and "GET" in getattr(r, "route", r).methods}
    return {p for p in paths if not p.startswith("/api/")} - NOT_PAGES


def iter_growing(pages: dict[str, str]):  # type: ignore[no-untyped-def]
    """Each (name, path) of ``pages``, including those added while walking it."""
    done = 0
    while done < len(pages):
        yield list(pages.items())[done]
        done += 1


def route_of(path: str, templates: set[str]) -> str | None:
    for template in templates:
        if re.fullmatch(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)), path):
            return template
    return None


async def test_every_page_reads_whole_in_chinese_and_in_english(sessions, tmp_path, browser):
    now = datetime.now(UTC).replace(microsecond=0)
    people_path = tmp_path / "people.json"
    people_path.write_text(json.dumps(PEOPLE, ensure_ascii=False), encoding="utf-8")
    settings = Settings(_env_file=None, people_path=people_path, link_secret="walk-test-secret")  # type: ignore[call-arg]
    links = family_links(settings)
    clock = FakeClock(now - timedelta(hours=2))
    store = AlertStore(sessions, clock=clock, ladder=AlertLadder(PeopleFile.from_document(PEOPLE), EscalationPolicy.load(), clock, links))
    async with sessions.begin() as session:
        await import_document(session, DIRECTORY)
        await create_user(session, "chen.zhuren", PASSWORD, Role.ADMIN, (), display_name="陈主任")
        await create_user(session, "li.ming", PASSWORD, Role.DUTY, ("beiguan",), display_name="李明")

    at = clock() - timedelta(minutes=5)
    at_s = at.timestamp()
    inactive = detection("hh-001", AlertType.NO_ACTIVITY_24H, explain.escalated(MeterKind.GAS, at_s, SHANGHAI), at)
    flowing = detection("hh-001", AlertType.GAS_CONTINUOUS, explain.continuous(MeterKind.GAS, at_s - 3 * 3600, at_s, 1.2, SHANGHAI), at)
    silent = detection("hh-002", AlertType.METER_SILENT, explain.meters_silent(["gas-002"], at_s - 4 * 3600, 900, at_s, SHANGHAI), at,
                       severity=Severity.WARNING, meter_ids=("gas-002",))
    no_gas = detection("hh-002", AlertType.NO_GAS_24H, explain.no_use({MeterKind.GAS: 0.01}, at_s - 25 * 3600, at_s, 24.0, SHANGHAI), at,
                       meter_ids=("gas-002",))
    south = detection("hh-003", AlertType.NO_GAS_24H, explain.no_use({MeterKind.GAS: 0.01}, at_s - 25 * 3600, at_s, 24.0, SHANGHAI), at,
                      meter_ids=("gas-003",))
    await store.apply([inactive, flowing, silent, no_gas, south])
    for _ in range(4):  # the ladder climbs: the duty officer, the family, reminders
        clock.advance(minutes=10)
        await store._ladder.tick(sessions)  # type: ignore[union-attr]
    await store.acknowledge(flowing.alert_id, "李明", WRITTEN[0], Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))
    await store.resolve(no_gas.alert_id, "李明", WRITTEN[6], Outcome(OutcomeKind.SAFE))
    async with sessions.begin() as session:
        session.add(Absence(household_id="hh-002", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=3), note=WRITTEN[4],
                            created_by="李明", created_at=now))
        session.add(SiteSilence(site_id="nanhu", alert_types=["no_gas_24h", "no_water_24h"], include_safety=False, starts_at=now - timedelta(hours=1),
                                ends_at=now + timedelta(hours=6), reason=WRITTEN[2], created_by="陈主任", created_at=now))
        today = now.astimezone(SHANGHAI).date()
        session.add(RotaOverride(site_id="beiguan", first_day=today, last_day=today + timedelta(days=1), absent_id="bg-day",
                                 replacement_id="bg-night", reason=WRITTEN[3], created_by="陈主任", created_at=now))
        session.add(ShiftHandoff(site_id="beiguan", since=now - timedelta(hours=12), written_at=now - timedelta(minutes=5), author="李明",
                                 note=WRITTEN[5]))
    async with sessions() as session:
        messages = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    recipients = {(m.recipient_id, m.language) for m in messages}
    assert ("hh-001.daughter", "zh-CN") in recipients and ("hh-001.son", "en") in recipients, recipients

    data = sorted({*WRITTEN, *SITES.values(), "陈主任", "李明", "王强", "周敏", "孙主任", "北关1号楼网关", "王芳（女儿）", DAUGHTER["name"], DAUGHTER["relation"],
                   SON["name"], SON["relation"], *(h.get(k, "") for h in DIRECTORY["households"] for k in ("name", "address", "notes"))} - {""}, key=len, reverse=True)
    problems: dict[str, list[str]] = {}

    for m in messages:  # the texts sent: SMS, email, voice, robots, in the reader's language
        found = problems_in([m.subject, m.body], m.language, data)
        if found:
            problems[f"message {m.id} ({m.channel}, {m.purpose}, {m.language})"] = found

    app = create_app(sessions=sessions, registry=Registry([]), settings=settings)
    templates = page_routes(app)
    (ARTIFACTS / "walk").mkdir(parents=True, exist_ok=True)
    english_bodies = [m.body for m in messages if m.language == "en"] + [m.subject for m in messages if m.language == "en"]
    chinese_bodies = [m.body for m in messages if m.language == "zh-CN"] + [m.subject for m in messages if m.language == "zh-CN"]

    async def check(page, lang: str, name: str) -> None:  # type: ignore[no-untyped-def]
        assert await page.evaluate("document.documentElement.lang") == lang, (name, lang)
        await screenshot(page, f"walk/{lang}-{name}.png")
        parts = await page.evaluate(READABLE_JS, lang)
        quoted = english_bodies if lang == "zh-CN" else chinese_bodies  # the notifications log shows each message as it was sent
        found = problems_in(parts, lang, data, quoted) + [f"no label: {b}" for b in await page.evaluate(UNNAMED_JS)]
        if name == "board" and "UTC+6" not in "\n".join(parts):  # 南湖's alert is on Xinjiang time: not China time, so it says so
            found.append("a time in another zone than China time without its offset")
        if found:
            problems[f"{lang} {name}"] = found

    async with served(app) as base:
        page = await signed_in(browser, f"{base}/?lang=zh-CN", "chen.zhuren", viewport={"width": 1024, "height": 900})
        await page.wait_for_selector("#board")
        signed_out = await browser.new_page(viewport={"width": 1024, "height": 768})
        seeds = {"board": "/", "alert-open": f"/alerts/{inactive.alert_id}", "alert-resolved": f"/alerts/{no_gas.alert_id}",
                 "household-with-family": "/households/hh-001", "household-away": "/households/hh-002"}
        walked = dict(seeds)  # and one page of every other route their links reach, found on the way in Chinese
        reached = {route_of(path, templates) for path in seeds.values()}
        for lang in ("zh-CN", "en"):
            for name, path in list(walked.items()) if lang == "en" else iter_growing(walked):
                await page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
                await check(page, lang, name)
                for href in await page.evaluate(LINKS_JS) if lang == "zh-CN" else ():
                    found = href[len(base):].split("#")[0] if href.startswith(base) else ""
                    template = route_of(found.split("?")[0], templates)
                    if template is not None and template not in reached:
                        reached.add(template)
                        walked[re.sub(r"[^a-z0-9]+", "-", re.sub(r"\{[^}]*\}", "", template)).strip("-")] = found.replace("?lang=zh-CN", "")
            if lang == "zh-CN":
                missing = templates - reached - {"/login", "/f/{token}"}
                assert not missing, f"pages the walk did not reach from the console: {sorted(missing)}"

            await signed_out.goto(f"{base}/login?lang={lang}")
            await check(signed_out, lang, "login")

        elder = next((m.recipient_id for m in messages if m.recipient_role == "elder"), "hh-001.elder")
        phone = await browser.new_page(viewport={"width": 390, "height": 844})  # opened on a phone, from the message; no sign-in
        for recipient, role, lang in (("hh-001.daughter", "family", "zh-CN"), ("hh-001.son", "family", "en"), (elder, "elder", "zh-CN")):
            name = f"link-{role}-{recipient.split('.')[-1]}"
            await phone.goto(f"{base}/f/{links.token(LinkClaim(inactive.alert_id, recipient, role))}")
            await check(phone, lang, name)
            async with phone.expect_navigation():
                await phone.locator("button[name=choice]").first.click()  # the answer, and the page that thanks for it
            await check(phone, lang, f"{name}-answered")

    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
    assert not problems, f"{sum(map(len, problems.values()))} untranslated strings, raw codes or unnamed controls:\n{report}"
