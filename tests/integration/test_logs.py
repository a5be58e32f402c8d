"""RELANCE_LOG_FORMAT=json: every line an object, lines about a message say which one, and no
address reaches the log, not even inside a relay's refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.smtp import Envelope

from relance.core.events import CartChange, ContactProfile
from relance.demo.broker import Broker
from relance.demo.mailsink import MailSink

from .conftest import Stack, wait_for
from .test_live_pipeline import SHOE, now_ms, produce

pytestmark = pytest.mark.integration

EMAIL = "ann.martin@example.com"
PHONE = "+33612345678"  # E.164: a profile refuses other forms


def refuse(envelope: Envelope) -> tuple[int, str]:
    # Relays quote the address they refuse: that text reaches relance's logs.
    return 550, f"5.1.1 <{envelope.rcpt_tos[0]}>: Recipient address rejected"


def lines(stack: Stack, kind: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stack.log(kind).splitlines() if line.strip()]


def test_json_logs_name_the_message_and_never_an_address(broker: Broker, tmp_path: Path) -> None:
    with MailSink(tmp_path / "outbox", reject=refuse) as sink:
        stack = Stack(broker, tmp_path, sink)
        stack.env["RELANCE_LOG_FORMAT"] = "json"
        try:
            stack.start("worker")
            stack.start("sender")
            t = now_ms()
            producer = stack.producer()
            poison = orjson.dumps(
                {
                    "type": "contact",
                    "event_id": "p0",
                    "contact_id": "ann",
                    "occurred_at": "yesterday",
                    "email": EMAIL,
                    "phone": PHONE,
                }
            )
            producer.produce(stack.topic("contacts"), key=b"ann", value=poison)
            producer.flush(10)
            produce(
                stack,
                [
                    ContactProfile(
                        "ann-p", "ann", t, email=EMAIL, phone=PHONE, marketing_opt_in=True
                    ),
                    CartChange("ann-1", "ann", t + 10, "add", SHOE, 1),
                ],
            )
            failed = 'relance_deliveries_total{channel="email",outcome="permanent_failure"}'
            wait_for(lambda: stack.metrics("sender").get(failed) == 1.0, timeout=90)
        finally:
            stack.stop_all()

    worker, sender = lines(stack, "worker"), lines(stack, "sender")
    (rejected,) = [line for line in worker if "rejected" in line["message"]]
    assert rejected["level"] == "warning"
    assert {key: rejected[key] for key in ("topic", "offset", "contact_id")} == {
        "topic": stack.topic("contacts"),
        "offset": 0,
        "contact_id": "ann",
    }
    assert isinstance(rejected["partition"], int)
    (failure,) = [line for line in sender if "permanent_failure" in line["message"]]
    assert failure["topic"] == stack.topic("relance-deliveries")
    assert failure["contact_id"] == "ann" and failure["command_id"]
    assert isinstance(failure["partition"], int) and isinstance(failure["offset"], int)
    assert "<email>" in failure["message"]
    for kind in ("worker", "sender"):
        text = stack.log(kind)
        assert EMAIL not in text and "ann.martin" not in text
        assert PHONE not in text and "612345678" not in text.replace(" ", "")
