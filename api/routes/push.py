"""HTTP push from NB-IoT platforms (China Mobile OneNET, China Telecom CTWing): docs/gateways.md.

The platform is the caller, so the credential is the integration's own push token, used as the
platform uses it: OneNET signs every body (``msg_signature``) and checks the URL once (GET);
CTWing carries it in the push URL (``?token=``).  A request that passes is handed to the broker as
it came and answered 200 at once; validation happens in ingest like any gateway message (its
problems become dead letters).  A redelivered push is the same reading again, which ingest counts
as a duplicate, not a second reading.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse

from api.deps import ServicesDep
from carewatch.integrations import Format, Integration
from carewatch.settings import Settings
from ingest.adapters import onenet

router = APIRouter(prefix="/api/push", tags=["push"])


def _push_integration(settings: Settings, name: str) -> Integration:
    for integration in settings.integrations:
        if integration.name == name and integration.format.is_push:
            return integration
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no push integration {name!r} (docs/gateways.md)")


def _refuse(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail)


@router.get("/{integration}", response_class=PlainTextResponse)
async def confirm_push_url(
    integration: str, services: ServicesDep, msg: str, nonce: str, signature: str
) -> str:
    """OneNET's URL check: answer ``msg`` when ``signature`` is the push token's."""
    found = _push_integration(services.settings, integration)
    if found.format is not Format.ONENET or not onenet.signature_matches(str(found.push_token), nonce, msg, signature):
        raise _refuse("the signature is not this integration's push token's")
    return msg


@router.post("/{integration}")
async def receive_push(
    integration: str, request: Request, services: ServicesDep, token: Annotated[str | None, Query()] = None
) -> dict[str, bool]:
    """A platform's push: authenticated, handed to the broker, answered 200."""
    settings = services.settings
    found = _push_integration(settings, integration)
    body = await request.body()
    if len(body) > settings.max_payload_bytes:
        raise HTTPException(413, f"the body is larger than {settings.max_payload_bytes} bytes")
    push_token = str(found.push_token)
    if found.format is Format.ONENET:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON, so its signature cannot be checked: {exc}") from None
        if not onenet.body_is_signed(push_token, document):
            raise _refuse("msg_signature is missing or is not this integration's push token's")
    elif token is None or not hmac.compare_digest(token.encode(), push_token.encode()):
        raise _refuse("the push URL must carry this integration's token (?token=…)")
    if services.publish is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "push intake is not connected to the MQTT broker")
    try:
        await services.publish(found.mqtt_topic(settings.mqtt_topic_prefix), body)
    except ConnectionError as exc:  # the platform retries what is not answered 200
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return {"accepted": True}
