"""A small people file: one site with a rota, a supervisor and a visitor; one household with elder and family."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

PEOPLE: dict[str, Any] = {
    "version": 1,
    "sites": [
        {
            "site": "donghu",
            "name": "东湖社区",
            "staff": [
                {"id": "duty-day", "name": "李明", "role": "duty", "channels": [{"kind": "sms", "address": "+8613800000001"}]},
                {"id": "duty-night", "name": "王强", "role": "duty", "channels": [{"kind": "email", "address": "wang.qiang@donghu.example"}]},
                {"id": "boss", "name": "陈主任", "role": "supervisor", "channels": [{"kind": "sms", "address": "+8613800000009"}]},
                {"id": "grid", "name": "赵网格员", "role": "visitor", "channels": [{"kind": "voice", "address": "+8613800000007"}]},
            ],
            "rota": [
                {"staff": "duty-day", "start": "08:00", "end": "20:00"},
                {"staff": "duty-night", "start": "20:00", "end": "08:00"},
            ],
            "group_robots": [{"kind": "wecom", "address": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo"}],
        }
    ],
    "households": [
        {
            "household_id": "hh-001",
            "site": "donghu",
            "name": "张桂兰",
            "address": "幸福路12号3单元401",
            "elder": {"name": "张桂兰", "channels": [{"kind": "voice", "address": "+8613900000001"}]},
            "contacts": [
                {
                    "id": "hh-001.daughter",
                    "name": "王芳",
                    "relation": "女儿",
                    "channels": [{"kind": "sms", "address": "+8613700000001"}, {"kind": "email", "address": "wang.fang@family.example"}],
                    "quiet_hours": {"start": "22:00", "end": "07:00"},
                },
                {
                    "id": "hh-001.son",
                    "name": "Wang Lei",
                    "relation": "son",
                    "language": "en",
                    "channels": [{"kind": "email", "address": "lei@family.example"}],
                    "alert_types": ["no_gas_24h", "no_activity_24h"],
                },
            ],
        }
    ],
}


def people(**changes: Any) -> dict[str, Any]:
    document = deepcopy(PEOPLE)
    document.update(changes)
    return document
