"""Every error relance raises on purpose derives from ``RelanceError``.

RelanceError
 ├── ConfigError          a scenario file or setting is wrong (file, line, key, problem)
 ├── InvalidEventError    an inbound message cannot become a canonical event
 ├── StrictModeError      ``simulate --strict`` met an invalid line (relance.offline.simulate)
 ├── BrokerError          the broker did not start or answer, or refused a write
 │    └── RecordRefusedError  a record refused for good, e.g. too large (kafka.outputs)
 ├── RenderError          a template failed to render (relance.sender.errors)
 ├── MessageError         a command cannot become an email, e.g. no address (same)
 └── DeliveryError        a provider did not take a message (relance.providers.errors)
      ├── TemporaryDeliveryError   worth retrying: 4xx, connection lost, timeout
      └── PermanentDeliveryError   not worth retrying: 5xx, refused, bad credentials
"""

from __future__ import annotations

from dataclasses import dataclass


class RelanceError(Exception):
    """Root of relance's own errors."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a configuration, where it is and what is wrong."""

    file: str
    line: int | None
    key: str | None
    problem: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"


class ConfigError(RelanceError):
    """A configuration that cannot be used; ``problems`` lists every one found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InvalidEventError(RelanceError):
    """An event that cannot be decoded or validated.

    ``reason`` is a short code from a fixed set (safe as a metric label); ``detail`` says
    which field and what is wrong, for the dead-letter record and the user.
    """

    REASONS = frozenset(
        {
            "not_json",
            "not_avro",
            "not_an_object",
            "unknown_type",
            "missing_field",
            "bad_type",
            "bad_value",
            "too_large",
        }
    )

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in self.REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")

    def __reduce__(self) -> tuple[type[InvalidEventError], tuple[str, str]]:
        return InvalidEventError, (self.reason, self.detail)


class BrokerError(RelanceError):
    """The broker did not start (the embedded one) or answer, or refused a write."""
