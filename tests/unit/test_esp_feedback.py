"""The ESPs' webhook events as engagement events: each documented event type of Postmark and
SendGrid mapped (hard and soft bounces told apart), keyed by the contact id the ESP echoes,
with the command id, at the ESP's time, and deterministic event ids."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from relance.core.events import Engagement
from relance.gateway.feedback import Dropped, WebhookError
from relance.gateway.postmark_feedback import postmark_feedback, postmark_record
from relance.gateway.sendgrid_feedback import sendgrid_events, sendgrid_feedback

NOW_MS = 1_800_000_000_000
IDS = {"relance_command_id": "cmd-7", "relance_contact_id": "c-42"}
# 2026-12-01T10:00:00Z, before NOW_MS.
AT_ISO, AT_MS = "2026-12-01T11:00:00.1234567+01:00", 1_796_119_200_123


def postmark(record_type: str, **fields: Any) -> dict[str, Any]:
    """A Postmark webhook record as its reference shows one, with relance's metadata."""
    return {
        "RecordType": record_type,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "MessageStream": "broadcast",
        "Metadata": dict(IDS),
        "ServerID": 23,
        "Tag": "cart_abandonment",
        **fields,
    }


def bounce(kind: str, record_type: str = "Bounce") -> dict[str, Any]:
    return postmark(
        record_type,
        ID=42,
        Type=kind,
        TypeCode=1,
        Name="Hard bounce",
        Email="ann@example.com",
        BouncedAt=AT_ISO,
        Inactive=True,
        Description="The server was unable to deliver your message",
    )


def sendgrid(event: str, **fields: Any) -> dict[str, Any]:
    """A SendGrid Event Webhook event as its reference shows one, with relance's
    custom_args at the top level."""
    return {
        "email": "ann@example.com",
        "timestamp": AT_MS // 1000,
        "event": event,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "sg_event_id": f"ev-{event}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "category": ["cart_abandonment", "marketing"],
        **IDS,
        **fields,
    }


def as_engagement(found: object) -> Engagement:
    assert isinstance(found, Engagement), found
    assert (found.contact_id, found.command_id, found.channel, found.scope) == (
        "c-42",
        "cmd-7",
        "email",
        "all",
    )
    return found


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (bounce("HardBounce"), "hard_bounce"),
        (bounce("BadEmailAddress"), "hard_bounce"),
        (bounce("SpamComplaint", "SpamComplaint"), "spam_complaint"),
        (bounce("Unsubscribe"), "unsubscribe"),
        (postmark("Open", FirstOpen=True, ReceivedAt=AT_ISO, Recipient="ann@example.com"), "open"),
        (
            postmark(
                "Click",
                ReceivedAt=AT_ISO,
                OriginalLink="https://shop.example/p/1",
                ClickLocation="HTML",
                Recipient="ann@example.com",
            ),
            "click",
        ),
        (
            postmark(
                "SubscriptionChange",
                ChangedAt=AT_ISO,
                Recipient="ann@example.com",
                Origin="Recipient",
                SuppressSending=True,
                SuppressionReason="ManualSuppression",
            ),
            "unsubscribe",
        ),
        (
            postmark(
                "SubscriptionChange",
                ChangedAt=AT_ISO,
                Origin="Recipient",
                SuppressSending=True,
                SuppressionReason="HardBounce",
            ),
            "hard_bounce",
        ),
        (
            postmark(
                "SubscriptionChange",
                ChangedAt=AT_ISO,
                Origin="Recipient",
                SuppressSending=True,
                SuppressionReason="SpamComplaint",
            ),
            "spam_complaint",
        ),
    ],
)
def test_a_postmark_event_that_matters_is_the_engagement_of_its_contact(
    record: dict[str, Any], kind: str
) -> None:
    event = as_engagement(postmark_feedback(postmark_record(orjson.dumps(record)), NOW_MS))
    assert event.kind == kind and event.occurred_at == AT_MS


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (bounce("SoftBounce"), "soft_bounce"),
        (bounce("Transient"), "soft_bounce"),
        (bounce("DnsError"), "soft_bounce"),
        (
            postmark(
                "Delivery",
                Recipient="ann@example.com",
                DeliveredAt=AT_ISO,
                Details="Test delivery webhook details",
            ),
            "not_engagement",
        ),
        (
            postmark(
                "SubscriptionChange",
                ChangedAt=AT_ISO,
                Origin="Customer",
                SuppressSending=False,
                SuppressionReason=None,
            ),
            "not_engagement",
        ),
        (postmark("Inbound"), "not_engagement"),
        ({**bounce("HardBounce"), "Metadata": {}}, "no_contact"),
        ({**bounce("HardBounce"), "Metadata": {"user_id": 43}}, "no_contact"),
        ({k: v for k, v in bounce("HardBounce").items() if k != "Metadata"}, "no_contact"),
    ],
)
def test_a_postmark_event_that_does_not_is_dropped_with_its_reason(
    record: dict[str, Any], reason: str
) -> None:
    assert postmark_feedback(record, NOW_MS) == Dropped(reason)  # type: ignore[arg-type]  # a literal of DropReason


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b"{}", "no RecordType"),
        (orjson.dumps(postmark("Bounce")), "without its Type"),
    ],
)
def test_a_postmark_body_that_is_not_an_event_is_malformed(body: bytes, problem: str) -> None:
    with pytest.raises(WebhookError, match=problem):
        postmark_feedback(postmark_record(body), NOW_MS)


def test_a_retried_event_has_the_same_id_and_two_events_two_ids() -> None:
    first = as_engagement(postmark_feedback(bounce("HardBounce"), NOW_MS))
    again = as_engagement(postmark_feedback(bounce("HardBounce"), NOW_MS + 60_000))
    other = as_engagement(postmark_feedback({**bounce("HardBounce"), "ID": 43}, NOW_MS))
    assert first == again and other.event_id != first.event_id
    # The same message's bounce and its suppression are two events of one kind.
    change = as_engagement(
        postmark_feedback(
            postmark(
                "SubscriptionChange",
                ChangedAt=AT_ISO,
                SuppressSending=True,
                SuppressionReason="HardBounce",
            ),
            NOW_MS,
        )
    )
    assert change.kind == first.kind and change.event_id != first.event_id


def test_an_esp_time_missing_bad_or_ahead_of_the_gateway_is_the_gateways() -> None:
    for at in (None, "yesterday", "2026-12-01T10:00:00", "2099-01-01T00:00:00Z"):
        event = as_engagement(postmark_feedback({**bounce("HardBounce"), "BouncedAt": at}, NOW_MS))
        assert event.occurred_at == NOW_MS
    event = as_engagement(sendgrid_feedback(sendgrid("bounce", timestamp=4_000_000_000), NOW_MS))
    assert event.occurred_at == NOW_MS


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (
            sendgrid(
                "bounce",
                type="bounce",
                status="5.1.1",
                reason="550 5.1.1 no such user",
                bounce_classification="Invalid Address",
            ),
            "hard_bounce",
        ),
        (sendgrid("bounce", status="5.0.0"), "hard_bounce"),
        (sendgrid("dropped", reason="Bounced Address"), "hard_bounce"),
        (sendgrid("dropped", reason="Spam Reporting Address"), "spam_complaint"),
        (sendgrid("dropped", reason="Unsubscribed Address"), "unsubscribe"),
        (sendgrid("spamreport"), "spam_complaint"),
        (sendgrid("unsubscribe"), "unsubscribe"),
        (sendgrid("group_unsubscribe", asm_group_id=10), "unsubscribe"),
        (
            sendgrid("open", sg_machine_open=False, useragent="Mozilla/5.0", ip="255.255.255.255"),
            "open",
        ),
        (sendgrid("click", url="https://shop.example/p/1", url_offset={"index": 0}), "click"),
    ],
)
def test_a_sendgrid_event_that_matters_is_the_engagement_of_its_contact(
    event: dict[str, Any], kind: str
) -> None:
    found = as_engagement(sendgrid_feedback(event, NOW_MS))
    assert found.kind == kind and found.occurred_at == AT_MS // 1000 * 1000


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            sendgrid("bounce", type="blocked", status="4.0.0", bounce_classification="Reputation"),
            "soft_bounce",
        ),
        (sendgrid("processed"), "not_engagement"),
        (sendgrid("delivered", response="250 OK"), "not_engagement"),
        (sendgrid("deferred", attempt="5"), "not_engagement"),
        (sendgrid("dropped", reason="Invalid"), "not_engagement"),
        (sendgrid("group_resubscribe", asm_group_id=10), "not_engagement"),
        (sendgrid("open", sg_machine_open=True), "machine_open"),
        ({**sendgrid("bounce"), "relance_contact_id": None}, "no_contact"),
        (
            {k: v for k, v in sendgrid("spamreport").items() if not k.startswith("relance")},
            "no_contact",
        ),
    ],
)
def test_a_sendgrid_event_that_does_not_is_dropped_with_its_reason(
    event: dict[str, Any], reason: str
) -> None:
    assert sendgrid_feedback(event, NOW_MS) == Dropped(reason)  # type: ignore[arg-type]  # a literal of DropReason


def test_a_sendgrid_batch_is_an_array_of_events_and_each_is_checked() -> None:
    batch = [sendgrid("delivered"), sendgrid("bounce")]
    assert sendgrid_events(orjson.dumps(batch)) == batch
    for body, problem in ((b"{", "not JSON"), (b'{"event": "bounce"}', "not a JSON array")):
        with pytest.raises(WebhookError, match=problem):
            sendgrid_events(body)
    for event, problem in (("bounce", "not a JSON object"), ({"email": "a@b.c"}, "'event'")):
        with pytest.raises(WebhookError, match=problem):
            sendgrid_feedback(event, NOW_MS)


def test_sendgrid_event_ids_follow_sg_event_id() -> None:
    one = as_engagement(sendgrid_feedback(sendgrid("click"), NOW_MS))
    assert one == sendgrid_feedback(sendgrid("click"), NOW_MS + 1)
    other = as_engagement(sendgrid_feedback(sendgrid("click", sg_event_id="ev-2"), NOW_MS))
    assert other.event_id != one.event_id
