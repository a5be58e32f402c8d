"""The sender's retry schedule (capped, jittered, seeded) and until when a command is tried."""

from __future__ import annotations

import random

import pytest

from relance.core.timestamps import HOUR_MS, parse_iso
from relance.sender.backoff import Backoff, expiry


def test_waits_double_from_the_first_up_to_the_cap() -> None:
    backoff = Backoff(first=1.0, cap=30.0)
    assert [backoff.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_day_of_failures_stays_at_the_cap() -> None:
    # ~300 failures at a 5-minute cap; 2.0 ** 300 would be fine, 2.0 ** 1100 would overflow.
    assert Backoff(first=1.0, cap=300.0).ceiling(1100) == 300.0


def test_each_wait_is_between_half_and_all_of_its_ceiling_and_they_differ() -> None:
    backoff = Backoff(first=1.0, cap=30.0, rng=random.Random(7))
    waits = [backoff.delay(6) for _ in range(200)]
    assert all(15.0 <= wait <= 30.0 for wait in waits)
    assert len(set(waits)) == 200  # jittered: senders that failed together spread out
    assert min(waits) < 17 and max(waits) > 28  # over the whole band, not a corner of it


def test_the_same_seed_gives_the_same_schedule() -> None:
    def schedule(seed: int) -> list[float]:
        backoff = Backoff(first=0.5, cap=60.0, rng=random.Random(seed))
        return [round(backoff.delay(n), 6) for n in range(1, 11)]

    assert schedule(42) == schedule(42)
    assert schedule(42) != schedule(43)
    # Pinned: a change of the schedule shows here (ceilings 0.5, 1, 2 ... 32, then 60).
    assert schedule(42) == [
        0.409857,
        0.512505,
        1.275029,
        2.446421,
        6.945885,
        13.413596,
        30.274873,
        32.608165,
        42.657655,
        30.893917,
    ]


def test_a_wait_the_provider_asked_for_is_kept_when_longer_than_the_backoff() -> None:
    backoff = Backoff(first=1.0, cap=30.0, rng=random.Random(7))
    assert backoff.after(1, retry_after=45.0) == 45.0  # longer than the cap too
    assert 0.5 <= backoff.after(1, retry_after=0.1) <= 1.0  # shorter: the backoff's own
    assert 0.5 <= backoff.after(1) <= 1.0


COMMAND = {"command_id": "c", "decided_at": "2024-05-01T10:00:00.000Z"}


@pytest.mark.parametrize(
    ("expires_at", "expected", "why"),
    [
        (None, "2024-05-02T10:00:00.000Z", "delivery horizon"),
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000Z", "stale_after"),
        ("2024-05-09T10:00:00.000Z", "2024-05-02T10:00:00.000Z", "delivery horizon"),
    ],
)
def test_a_command_is_tried_until_it_goes_stale_or_its_horizon_whichever_is_first(
    expires_at: str | None, expected: str, why: str
) -> None:
    command = {**COMMAND, "expires_at": expires_at}
    assert expiry(command, 24 * HOUR_MS) == (parse_iso(expected), why)


def test_a_command_written_before_expires_at_existed_has_only_the_horizon() -> None:
    assert expiry(COMMAND, 2 * HOUR_MS) == (
        parse_iso("2024-05-01T12:00:00.000Z"),
        "delivery horizon",
    )
