"""What a worker round produced, held until the loop sends it: commands, decisions, dead
letters. They are sent before the round's states are committed, and acknowledged before
those states reach the changelog and the input offsets are committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from relance.codec.deadletter import DeadLetter
from relance.core.commands import Outcome, SendCommand

if TYPE_CHECKING:  # the pipeline fills outboxes without importing a Kafka client
    from relance.kafka.outputs import Outputs


@dataclass(slots=True)
class Outbox:
    commands: list[SendCommand] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    decisions: list[Outcome] = field(default_factory=list)  # every outcome, sent or not

    def __bool__(self) -> bool:
        return bool(self.commands or self.dead_letters or self.decisions)

    def send(self, outputs: Outputs) -> None:
        """Produce everything; ``outputs.wait()`` returns once the broker acknowledged it."""
        for command in self.commands:
            outputs.command(command)
        for letter in self.dead_letters:
            outputs.dead_letter(letter)
        for outcome in self.decisions:
            outputs.decision(outcome)
