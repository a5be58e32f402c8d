"""Log output for the worker and the sender: text or one JSON object a line, never an address.

A line about a message carries ``topic``, ``partition``, ``offset`` and ``contact_id`` (see
``about``). Email addresses and phone numbers are masked in every line, faust's and the SMTP
server's replies included: a provider's "550 <ann@example.com> unknown" must not reach the log
store, and a filter on the handler is the one place every record passes.
"""

from __future__ import annotations

import logging
import re
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

from relance.settings import Settings

CONTEXT = ("topic", "partition", "offset", "contact_id", "command_id")

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# E.164 and the usual spellings of an international number; a bare run of digits is an
# offset or a timestamp, so only numbers written with a leading + are taken for phones.
_PHONE = re.compile(r"\+\d(?:[\s().-]{0,2}\d){6,14}")


def redact(text: str) -> str:
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


def about(
    topic: str, partition: int, offset: int, contact_id: str | bytes | None, **more: Any
) -> dict[str, Any]:
    """``extra=`` for a line about one message."""
    if isinstance(contact_id, bytes):
        contact_id = contact_id.decode("utf-8", "replace")
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "contact_id": contact_id,
        **more,
    }


class Redact(logging.Filter):
    """Masks addresses in the message itself, so every formatter and handler sees it masked,
    and ``secrets`` (the settings' passwords, keys and tokens) wherever they appear."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def _masked(self, text: str) -> str:
        text = redact(text)
        for secret in self.secrets:
            text = text.replace(secret, "******")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._masked(record.getMessage())
        record.args = None
        if record.exc_info:
            # Formatted here, masked: both formatters print exc_text when it is set.
            record.exc_text = self._masked(
                record.exc_text
                or "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            )
        for name in CONTEXT:
            value = record.__dict__.get(name)
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class OneLine(logging.Filter):
    """An error is one line: its traceback (faust's and mode's crash paths log one, under
    their loggers or the app's) is kept only at debug level. The line keeps what failed: the
    exception's own words are added when the message does not carry them already."""

    def __init__(self, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tracebacks or record.levelno < logging.ERROR or not record.exc_info:
            return True
        error = record.exc_info[1]
        message = record.getMessage()
        if error is not None and str(error) not in message and repr(error) not in message:
            message += f": {type(error).__name__}: {error}"
        record.msg, record.args = message, None
        record.exc_info = record.exc_text = None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:  # noqa: N802  # logging's name
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_text:
            line["exception"] = record.exc_text
        elif record.exc_info:
            line["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
        return orjson.dumps(line, default=str).decode()


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (faust's Worker applies it at start)."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": Redact, "secrets": tuple(settings.secrets())},
            "one_line": {"()": OneLine, "tracebacks": level == "DEBUG"},
        },
        "formatters": {"relance": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "relance",
                "filters": ["one_line", "redact"],
            }
        },
        "root": {"level": level, "handlers": ["default"]},
    }
