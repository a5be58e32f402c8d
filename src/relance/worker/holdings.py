"""The partitions a worker holds, noted in a folder that outlives the process (an emptyDir
in Kubernetes survives a container's restart): a worker restarted after a kill reads their
changelog while its group waits out the dead member (``changelog.ReadAhead``).

Only a guess of what the group will assign: a wrong one costs a read that is dropped, never
a state, since every assigned partition is still read to its end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


class Holdings:
    def __init__(self, folder: Path | None, name: str) -> None:
        """``folder`` None: nothing noted, nothing read ahead."""
        self.path = None if folder is None else folder / f"{name}.partitions"

    def read(self) -> list[int]:
        """The partitions noted last, or none (no folder, no note, or one unreadable)."""
        if self.path is None:
            return []
        try:
            text = self.path.read_text(encoding="ascii")
            return sorted({int(part) for part in text.split()})
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s: not read (%s); nothing read ahead", self.path, exc)
            return []

    def note(self, partitions: Iterable[int]) -> None:
        """Note ``partitions`` (written whole, then renamed: a kill mid-write leaves the last
        note). A folder that cannot be written is logged, never fatal."""
        if self.path is None:
            return
        text = " ".join(str(p) for p in sorted(set(partitions)))
        draft = self.path.with_suffix(".partitions.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            draft.write_text(text + "\n", encoding="ascii")
            draft.replace(self.path)
        except OSError as exc:
            log.warning("%s: not written (%s); a restart will not read ahead", self.path, exc)
