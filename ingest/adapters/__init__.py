"""Gateway adapters: a foreign payload → contract v1 readings, or dead letters that say why.

One small module per format, all behind one interface::

    adapter(topic, payload, now) -> Adapted(readings=[contract v1 reading objects], refusals=[...])

An adapter only re-spells: device id → meter id, its time → ``at``, its register field in its unit →
``register_m3``.  ``ingest.translate`` then validates what it made exactly as it validates a contract
v1 message (times, ranges, the registry, unknown meters listed for provisioning), so a foreign
gateway's reading is held to the same rules as a native one, on both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from paho.mqtt.client import topic_matches_sub

from carewatch.integrations import Format, Integration
from ingest.adapters import chirpstack, ctwing, onenet, ttn, wmbusmeters
from ingest.adapters.base import Adapted

Adapter = Callable[[str, bytes, datetime], Adapted]

_FORMATS = {
    Format.TTN_V3: ttn.adapt,
    Format.CHIRPSTACK_V4: chirpstack.adapt,
    Format.WMBUSMETERS: wmbusmeters.adapt,
    Format.ONENET: onenet.adapt,
    Format.CTWING: ctwing.adapt,
}


def adapter_for(integration: Integration) -> Adapter:
    adapt = _FORMATS[integration.format]
    return lambda topic, payload, now: adapt(integration, topic, payload, now)


def integration_for(topic: str, integrations: Iterable[Integration], prefix: str) -> Integration | None:
    """The first integration whose topic filter matches ``topic`` (None: not a foreign gateway's)."""
    return next((i for i in integrations if topic_matches_sub(i.mqtt_topic(prefix), topic)), None)


def subscriptions(integrations: Iterable[Integration], prefix: str) -> tuple[str, ...]:
    """The topic filters the subscriber must add to carewatch's own."""
    return tuple(dict.fromkeys(i.mqtt_topic(prefix) for i in integrations))


__all__ = ["Adapted", "Adapter", "adapter_for", "integration_for", "subscriptions"]
