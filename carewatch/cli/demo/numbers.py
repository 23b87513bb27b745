"""The demo district's phone numbers: each elder's own line and each community's duty line, so the
console's cards and the messages have numbers to show (issue 15). Made-up, deterministic per seed.

>>> district = with_numbers({"version": 1, "households": [{"household_id": "hh-0001", "site": "donghu"}]}, seed=1)
>>> district["sites"]
[{'site_id': 'donghu', 'name': '东湖社区', 'phone': '0532-8000 0100'}]
>>> district["households"][0]["phone"].startswith("+86")
True
"""

from __future__ import annotations

import random
from typing import Any

from alerts.sample_people import SITE_NAMES


def with_numbers(document: dict[str, Any], seed: int) -> dict[str, Any]:
    """A copy of the registry ``document`` with a ``phone`` per household and its sites, each with a duty line."""
    rng = random.Random(f"carewatch.cli.demo.numbers:{seed}")
    households = [{**h, "phone": f"+86{rng.choice((138, 139, 150, 186))}{rng.randint(0, 99_999_999):08d}"} for h in document["households"]]
    site_ids = sorted({str(h.get("site") or "default") for h in households})
    sites = [{"site_id": site, "name": SITE_NAMES.get(site, site), "phone": f"0532-8000 {index + 1:02d}00"} for index, site in enumerate(site_ids)]
    return {**document, "sites": sites, "households": households}
