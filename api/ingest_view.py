"""Ingest statistics as one principal may see them: staff of some sites see their sites' gateways only.

Offline gateways, gateways with messages missing, unknown meters and rejections are narrowed to the gateways of the caller's sites
(a rejection is theirs when it came through one of their gateways). The message and reading totals
are the district's: ingest counts them without a site, and they name no other site's object.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from carewatch.directory import Gateway
from ingest.models import DeadLetter
from ingest.stats import IngestStats, read_stats


async def visible_stats(session: AsyncSession, principal: Principal) -> IngestStats:
    stats = await read_stats(session)
    if principal.sites is None:
        return stats
    yours = select(Gateway.id).where(Gateway.site_id.in_(sorted(principal.sites)))
    gateways = set((await session.scalars(yours)).all())
    rejected = dict(
        (await session.execute(
            select(DeadLetter.reason, func.count()).where(DeadLetter.gateway_id.in_(yours)).group_by(DeadLetter.reason)
        )).all()
    )
    return replace(
        stats,
        rejected_by_reason=rejected,
        unknown_meters=[row for row in stats.unknown_meters if row.gateway_id in gateways],
        gateways_offline=[gateway for gateway in stats.gateways_offline if gateway in gateways],
        gateway_gaps=[row for row in stats.gateway_gaps if row.gateway_id in gateways],
    )
