"""Epoch milliseconds to ISO-8601 text and back."""

from __future__ import annotations

import pytest

from relance.core.timestamps import parse_iso, to_iso


@pytest.mark.parametrize(
    ("epoch_ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_714_525_200_499, "2024-05-01T01:00:00.499Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        # Exact to the millisecond however far: through a float, this one read .998.
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_a_time_is_written_to_the_millisecond_and_reads_back(epoch_ms: int, text: str) -> None:
    assert to_iso(epoch_ms) == text
    assert parse_iso(text) == epoch_ms


def test_times_of_one_second_keep_their_own_milliseconds() -> None:
    assert [to_iso(5_000 + ms) for ms in (0, 7, 70, 700)] == [
        "1970-01-01T00:00:05.000Z",
        "1970-01-01T00:00:05.007Z",
        "1970-01-01T00:00:05.070Z",
        "1970-01-01T00:00:05.700Z",
    ]
