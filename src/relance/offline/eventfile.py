"""Reading an events file: stdin, plain or gzipped JSON lines, whole or by byte ranges."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def open_events(path: str) -> Iterator[IO[bytes]]:
    """``-`` is stdin; a name ending in ``.gz`` is decompressed."""
    if path == "-":
        yield sys.stdin.buffer
        return
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as unzipped:
            yield unzipped  # type: ignore[misc]  # typeshed: GzipFile is no IO[bytes]
    else:
        with Path(path).open("rb") as raw:
            yield raw


def byte_ranges(path: str, parts: int) -> list[tuple[int, int | None]]:
    """At most ``parts`` ranges of whole lines that cover the file, in order; a compressed
    file is one range (``end`` None), as it cannot be read from the middle."""
    if path.endswith(".gz"):
        return [(0, None)]
    size = Path(path).stat().st_size
    starts = [0]
    with Path(path).open("rb") as raw:
        for part in range(1, parts):
            raw.seek(max(size * part // parts - 1, starts[-1]))
            raw.readline()  # on to the start of the next line
            if raw.tell() >= size:
                break
            starts.append(raw.tell())
    return list(zip(starts, [*starts[1:], size], strict=True))


def read_lines(path: str, start: int, end: int | None) -> Iterator[bytes]:
    """The lines of ``[start, end)`` (``end`` None: to the end), as many as iterating the file
    yields, read whole but without their newline when ``end`` is given."""
    if end is None:
        with open_events(path) as stream:
            yield from stream
        return
    with Path(path).open("rb") as raw:
        raw.seek(start)
        partial = b""
        left = end - start
        while left > 0:
            # A block at a time: the same memory is reused, rather than the range's size
            # of fresh memory (which is paid for in page faults).
            block = raw.read(min(left, _BLOCK))
            if not block:
                break
            left -= len(block)
            lines = block.split(b"\n")
            lines[0] = partial + lines[0]
            partial = lines.pop()  # up to the end of the block: a line perhaps not whole yet
            yield from lines
        if partial:
            yield partial


_BLOCK = 1 << 20
