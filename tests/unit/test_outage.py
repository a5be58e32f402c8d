"""What /readyz and relance_oldest_undelivered_seconds say while a provider keeps failing."""

from __future__ import annotations

from relance.core.timestamps import parse_iso
from relance.sender.outage import Outages

T0 = parse_iso("2024-05-01T10:00:00Z")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def outages(clock: Clock) -> Outages:
    return Outages({"email": "SMTP relay mx:25", "sms": "SMS gateway https://sms.example"}, clock)


def test_a_failing_provider_is_named_with_since_when_and_its_last_error_without_addresses() -> None:
    clock = Clock()
    down = outages(clock)
    assert down.problems() == []
    down.failed("email", T0 - 60_000, "Connect call failed ('10.0.0.5', 25)")
    clock.now += 42_000
    down.failed("email", T0 - 60_000, "450 4.2.0 ann@example.com: mailbox busy (+4915112345678)")
    assert down.problems() == [
        "the email provider (SMTP relay mx:25) has failed every attempt since "
        "2024-05-01T10:00:00.000Z (42 s), retrying; last error: 450 4.2.0 <email>: mailbox "
        "busy (<phone>)"
    ]
    assert down.age("email") == 102.0 and down.age("sms") == 0.0


def test_the_outage_outlives_the_command_that_saw_it_until_the_provider_answers() -> None:
    clock = Clock()
    down = outages(clock)
    down.failed("email", T0, "refused")
    down.released()  # expired, or handed to another sender
    assert down.problems() == [] and down.age("email") == 0.0
    clock.now += 5_000
    down.failed("email", T0 + 4_000, "refused again")
    assert "since 2024-05-01T10:00:00.000Z (5 s)" in down.problems()[0]
    down.answered("email")
    assert down.problems() == []
    down.released()
    clock.now += 1_000
    down.failed("email", T0, "refused")
    assert "since 2024-05-01T10:00:06.000Z (0 s)" in down.problems()[0]
