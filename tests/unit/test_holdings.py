"""What a worker notes of the partitions it holds, for its next start to read ahead."""

from __future__ import annotations

from pathlib import Path

import pytest

from relance.worker.holdings import Holdings


def test_without_a_folder_nothing_is_noted_or_read(tmp_path: Path) -> None:
    holdings = Holdings(None, "shop-worker")
    holdings.note([1, 2])
    assert holdings.read() == [] and list(tmp_path.iterdir()) == []


def test_the_last_note_is_read_back(tmp_path: Path) -> None:
    holdings = Holdings(tmp_path / "state", "shop-worker")
    assert holdings.read() == []  # nothing noted yet
    holdings.note([3, 1, 3])
    holdings.note([2, 0])
    assert Holdings(tmp_path / "state", "shop-worker").read() == [0, 2]
    assert Holdings(tmp_path / "state", "other-worker").read() == []
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["shop-worker.partitions"]
    holdings.note([])
    assert holdings.read() == []


def test_a_note_that_cannot_be_read_or_written_is_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "shop-worker.partitions").write_text("1 two 3\n")
    assert Holdings(tmp_path, "shop-worker").read() == []
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    Holdings(blocked / "state", "shop-worker").note([1])  # a file where the folder goes
    assert "not read" in caplog.text and "not written" in caplog.text
