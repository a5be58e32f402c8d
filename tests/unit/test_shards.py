"""Splitting an events file for several replay processes: whole lines, each read once."""

from __future__ import annotations

import gzip
from itertools import pairwise
from pathlib import Path

import pytest

from relance.offline import eventfile
from relance.offline.eventfile import byte_ranges, read_lines
from relance.offline.shards import NO_OWNER, TYPES, LineIndex, index_range, shard_of

LINES = [
    b'{"type":"page_view","event_id":"e1","contact_id":"c1","occurred_at":5}',
    b"",
    b'{"type":"cart","event_id":"e2","contact_id":"c2","occurred_at":"1970-01-01T00:00:01Z"}',
    b"{broken",
    b'{"type":"product","event_id":"p","occurred_at":7,"product":{"id":"x"}}',
    b'{"type":"mystery","contact_id":"c3","occurred_at":9,' + b'"pad":"' + b"x" * 500 + b'"}',
    b'{"contact_id":"c1","occurred_at":11}',
]


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("ending", [b"\n", b""], ids=["newline", "none"])
@pytest.mark.parametrize("parts", [1, 2, 3, 7, 50])
def test_ranges_cover_the_file_in_whole_lines(
    tmp_path: Path, parts: int, ending: bytes, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventfile, "_BLOCK", block)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(LINES) + ending)
    ranges = byte_ranges(str(path), parts)
    assert 1 <= len(ranges) <= parts
    assert ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    read = [line for start, end in ranges for line in read_lines(str(path), start, end)]
    with path.open("rb") as lines:
        assert read == [line.rstrip(b"\n") for line in lines]


def test_a_compressed_file_is_one_range_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(LINES) + b"\n"))
    assert byte_ranges(str(path), 4) == [(0, None)]
    assert [line.rstrip(b"\n") for line in read_lines(str(path), 0, None)] == LINES


def test_an_empty_file_has_no_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"")
    assert [
        line
        for start, end in byte_ranges(str(path), 2)
        for line in read_lines(str(path), start, end)
    ] == []


def test_the_index_gives_each_line_its_owner_time_and_type(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n")
    ranges = byte_ranges(str(path), 3)
    index = LineIndex.join([index_range(str(path), start, end, 3) for start, end in ranges])
    assert len(index.owners) == len(index.times) == len(index.types) == len(LINES)
    owner = {c: shard_of(c, 3) for c in ("c1", "c2", "c3")}
    assert list(index.owners) == [
        owner["c1"],
        NO_OWNER,
        owner["c2"],
        NO_OWNER,
        NO_OWNER,
        owner["c3"],
        owner["c1"],
    ]
    assert list(index.times) == [5, 0, 1000, 0, 0, 9, 11]
    assert [TYPES[t] for t in index.types] == ["page_view", None, "cart", None, None, None, None]


def test_a_time_beyond_64_bits_is_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        LINES[0] + b"\n" + b'{"contact_id":"c9","occurred_at":' + str(2**64 - 1).encode() + b"}\n"
    )
    parts = [index_range(str(path), start, end, 2) for start, end in byte_ranges(str(path), 2)]
    assert list(LineIndex.join(parts).times) == [5, 2**64 - 1]
