"""Each channel against a real receiver on loopback: what arrives, signed and keyed as documented."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from alerts.channels.base import Outgoing, PermanentError, TransientError
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.channels.provider import ProviderChannel
from alerts.channels.robots import RobotChannel
from alerts.channels.via_apprise import AppriseChannel
from alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignedWebhookChannel, verify
from tests.notify.receivers import http_receiver

MESSAGE = Outgoing(
    idempotency_key="hh-001.no_gas_24h.20250301T073000Z|s1|hh-001.daughter|0sms",
    address="+8613700000001",
    subject="【社区关爱】请联系张桂兰",
    body="【社区关爱】王芳您好：张桂兰24小时未用燃气，请尽快联系确认。",
    recipient_name="王芳",
    payload={"alert_id": "hh-001.no_gas_24h.20250301T073000Z", "step": "notify_family"},
)


def at(address: str) -> Outgoing:
    return Outgoing(**{**{f: getattr(MESSAGE, f) for f in Outgoing.__slots__}, "address": address})


async def test_email_arrives_with_the_idempotency_key_as_message_id(mailbox):
    channel = EmailChannel(SmtpSettings("127.0.0.1", mailbox.port, "alerts@carewatch.example"))

    await channel.send(at("wang.fang@family.example"))

    [mail] = mailbox.messages
    assert mail["To"].endswith("<wang.fang@family.example>")
    assert mail["Message-ID"] == "<hh-001.no_gas_24h.20250301T073000Z-s1-hh-001.daughter-0sms@carewatch.example>"
    assert mail["Idempotency-Key"] == MESSAGE.idempotency_key
    assert "张桂兰24小时未用燃气" in mail.get_payload(decode=True).decode()


async def test_email_tells_a_busy_server_from_a_refusal(mailbox):
    channel = EmailChannel(SmtpSettings("127.0.0.1", mailbox.port, "alerts@carewatch.example"))
    mailbox.refuse_next = 1
    with pytest.raises(TransientError, match="451"):
        await channel.send(at("a@family.example"))
    mailbox.stop()
    with pytest.raises(TransientError, match="unreachable"):
        await channel.send(at("a@family.example"))


async def test_sms_provider_gets_the_text_the_key_and_the_token(client, receiver):
    channel = ProviderChannel("sms", f"{receiver.url}/v1/messages", "provider-token", client)

    await channel.send(MESSAGE)

    [request] = receiver.requests
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer provider-token"
    assert request.headers["idempotency-key"] == MESSAGE.idempotency_key
    assert request.json() == {
        "to": "+8613700000001", "kind": "sms", "text": MESSAGE.body, "language": "zh-CN", "reference": MESSAGE.idempotency_key,
    }


@pytest.mark.parametrize(
    ("answer", "error", "retry_after"),
    [(500, TransientError, None), ((429, 7), TransientError, 7.0), ("timeout", TransientError, None), (400, PermanentError, None)],
)
async def test_provider_failures_are_sorted_into_retry_or_give_up(client, answer, error, retry_after):
    with http_receiver(script=[answer]) as receiver:
        with pytest.raises(error) as caught:
            await ProviderChannel("voice", receiver.url, None, client).send(MESSAGE)
    assert caught.value.retry_after_s == retry_after


async def test_wecom_robot_posts_a_text_message(client, receiver):
    await RobotChannel("wecom", client).send(at(f"{receiver.url}/cgi-bin/webhook/send?key=k1"))
    [request] = receiver.requests
    assert request.path == "/cgi-bin/webhook/send?key=k1"
    assert request.json() == {"msgtype": "text", "text": {"content": f"{MESSAGE.subject}\n{MESSAGE.body}"}}


async def test_dingtalk_robot_signs_the_url_when_given_a_secret(client, receiver):
    clock = 1_741_000_000.123
    await RobotChannel("dingtalk", client, clock=lambda: clock).send(at(f"{receiver.url}/robot/send?access_token=t&secret=SEC1"))
    [request] = receiver.requests
    query = parse_qs(urlsplit(request.path).query)
    assert "secret" not in query, "the secret never travels"
    expected = base64.b64encode(hmac.new(b"SEC1", b"1741000000123\nSEC1", hashlib.sha256).digest()).decode()
    assert (query["timestamp"], query["sign"], query["access_token"]) == (["1741000000123"], [expected], ["t"])


async def test_feishu_robot_signs_the_body_when_given_a_secret(client, receiver):
    await RobotChannel("feishu", client, clock=lambda: 1_741_000_000).send(at(f"{receiver.url}/open-apis/bot/v2/hook/x?secret=S"))
    body = receiver.requests[0].json()
    expected = base64.b64encode(hmac.new(b"1741000000\nS", b"", hashlib.sha256).digest()).decode()
    assert body == {"msg_type": "text", "content": {"text": f"{MESSAGE.subject}\n{MESSAGE.body}"}, "timestamp": "1741000000", "sign": expected}


async def test_robot_rate_limit_codes_are_retried_and_bad_keys_are_not(client):
    with http_receiver(reply={"errcode": 45009, "errmsg": "api freq out of limit"}) as receiver:
        with pytest.raises(TransientError, match="45009"):
            await RobotChannel("wecom", client).send(at(receiver.url))
    with http_receiver(reply={"errcode": 93000, "errmsg": "invalid webhook url"}) as receiver:
        with pytest.raises(PermanentError, match="93000"):
            await RobotChannel("wecom", client).send(at(receiver.url))


async def test_signed_webhook_verifies_at_the_receiver_and_fails_when_altered(client, receiver):
    await SignedWebhookChannel("integrator-secret", client).send(at(f"{receiver.url}/hooks/carewatch"))
    [request] = receiver.requests
    stamp, given = request.headers[TIMESTAMP_HEADER.lower()], request.headers[SIGNATURE_HEADER.lower()]
    now = time.time()

    assert verify("integrator-secret", stamp, request.body, given, now=now)
    assert request.json()["alert_id"] == MESSAGE.payload["alert_id"]
    assert request.headers["idempotency-key"] == MESSAGE.idempotency_key
    assert not verify("integrator-secret", stamp, request.body.replace("张".encode(), "李".encode()), given, now=now)
    assert not verify("other-secret", stamp, request.body, given, now=now)
    assert not verify("integrator-secret", stamp, request.body, given, now=now + 3600), "a replayed old request"


async def test_apprise_delivers_to_a_json_endpoint(receiver):
    await AppriseChannel().send(at(f"json://127.0.0.1:{receiver.port}/notify"))
    [request] = receiver.requests
    assert request.json()["title"] == MESSAGE.subject and request.json()["message"] == MESSAGE.body
    with pytest.raises(PermanentError, match="does not understand"):
        await AppriseChannel().send(at("nonsense-scheme://x"))
