"""A people file for simulated households: realistic names, one or two family members each, a rota per site.

Used by `carewatch demo`; also a worked example of the format (docs/notifications.md).
Every address points at the demo's local catchers, never at a real person.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

GIVEN = ("芳", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚", "桂芝")
RELATIONS = ("女儿", "儿子", "侄女", "外甥", "儿媳")
SITE_NAMES = {"donghu": "东湖社区", "xiyuan": "西苑社区", "nanshan": "南山社区", "beiguan": "北关社区"}
PINYIN = dict(zip("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo".split()), strict=True))
ENGLISH_GIVEN = ("Jun", "Lei", "Wei", "Ming", "Hao", "Tao")
STAFF_SURNAMES = "刘陈杨黄赵吴周徐孙马朱胡郭何高林罗梁宋郑"


def _phone(rng: random.Random) -> str:
    return f"+86{rng.choice((138, 139, 150, 186, 187))}{rng.randint(0, 99_999_999):08d}"


def sample_people(households: Iterable[Mapping[str, Any]], robot_url: str, seed: int = 1) -> dict[str, Any]:
    """``households`` are registry entries (household_id, name, site, address); ``robot_url`` is where group robots post."""
    rng = random.Random(f"alerts.sample_people:{seed}")
    entries = list(households)
    sites = sorted({str(h.get("site") or "default") for h in entries}) or ["default"]
    document_sites = []
    for site in sites:
        def person(role: str, n: int) -> dict[str, Any]:
            name = rng.choice(STAFF_SURNAMES) + rng.choice(GIVEN)
            return {
                "id": f"{site}.{role}{n}", "name": name, "role": role,
                "channels": [{"kind": "sms", "address": _phone(rng)}, {"kind": "email", "address": f"{role}{n}@{site}.carewatch.example"}],
            }
        staff = [person("duty", 1), person("duty", 2), person("supervisor", 1), person("visitor", 1)]
        document_sites.append({
            "site": site,
            "name": SITE_NAMES.get(site, site),
            "staff": staff,
            "rota": [
                {"staff": f"{site}.duty1", "start": "08:00", "end": "20:00"},
                {"staff": f"{site}.duty2", "start": "20:00", "end": "08:00"},
            ],
            "group_robots": [{"kind": "wecom", "address": f"{robot_url}/cgi-bin/webhook/send?key=demo-{site}"}],
        })
    document_households = []
    for index, household in enumerate(entries):
        household_id = str(household["household_id"])
        elder_name = str(household.get("name") or household_id)
        surname = elder_name[0] if elder_name else "王"
        contacts = [{
            "id": f"{household_id}.family1",
            "name": surname + rng.choice(GIVEN),
            "relation": rng.choice(RELATIONS),
            "channels": [{"kind": "sms", "address": _phone(rng)}, {"kind": "email", "address": f"{household_id}.family1@family.example"}],
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        }]
        if index % 5 == 0:  # a child abroad, who reads English and only wants the serious ones
            contacts.append({
                "id": f"{household_id}.family2", "name": f"{rng.choice(ENGLISH_GIVEN)} {PINYIN.get(surname, 'Wang')}",
                "relation": "son", "language": "en",
                "channels": [{"kind": "email", "address": f"{household_id}.family2@family.example"}],
                "alert_types": ["no_activity_24h", "no_gas_24h", "gas_continuous"],
            })
        document_households.append({
            "household_id": household_id,
            "site": str(household.get("site") or "default"),
            "name": elder_name,
            "address": str(household.get("address") or ""),
            "timezone": str(household.get("timezone") or "Asia/Shanghai"),
            # The elder's own line: the household's phone when the district gives one (the demo's does), so card and SMS agree.
            "elder": {"name": elder_name, "channels": [{"kind": "sms", "address": str(household.get("phone") or "") or _phone(rng)}]},
            "contacts": contacts,
        })
    return {"version": 1, "sites": document_sites, "households": document_households}
