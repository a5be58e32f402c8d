"""The sender's ledger is bounded: which ids it forgets, and for how long it keeps them."""

from __future__ import annotations

from relance.core.timestamps import DAY_MS, parse_iso
from relance.sender.ledger import forgettable
from relance.wiring import ledger_retention_ms

NOW = parse_iso("2024-05-20T12:00:00Z")
EIGHT_DAYS = 8 * DAY_MS


def test_an_id_settled_longer_ago_than_the_retention_is_forgotten_a_recent_one_is_not() -> None:
    table = {
        b"old": b"delivered@2024-05-12T11:59:59.999Z",  # 8 d and 1 ms ago
        b"edge": b"expired@2024-05-12T12:00:00.000Z",  # exactly 8 d ago: kept
        b"recent": b"delivered@2024-05-19T08:00:00.000Z",
        b"older": b"permanent_failure@2023-01-01T00:00:00.000Z",
    }
    assert forgettable(table, NOW - EIGHT_DAYS) == [b"old", b"older"]


def test_an_id_whose_value_has_no_time_is_never_forgotten() -> None:
    assert forgettable({b"odd": b"delivered", b"empty": b""}, NOW) == []


def test_the_retention_is_the_setting_unless_the_delivery_topic_keeps_commands_longer() -> None:
    assert ledger_retention_ms(EIGHT_DAYS, None) == EIGHT_DAYS  # the broker does not say
    assert ledger_retention_ms(EIGHT_DAYS, 7 * DAY_MS) == EIGHT_DAYS
    assert ledger_retention_ms(EIGHT_DAYS, 30 * DAY_MS) == 31 * DAY_MS
    assert ledger_retention_ms(EIGHT_DAYS, -1) == EIGHT_DAYS  # kept forever
