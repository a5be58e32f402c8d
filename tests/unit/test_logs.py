"""Log lines: JSON with the message's coordinates, and no address in any format."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Iterator

import orjson
import pytest

from relance.logs import about, logging_config, redact
from relance.settings import load_settings


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("550 <ann.martin+shop@mail.example.co.uk>: unknown", "550 <<email>>: unknown"),
        ("to +33 6 12 34 56 78 failed", "to <phone> failed"),
        ("to +1 (415) 555-0100 failed", "to <phone> failed"),
        ("+447911123456", "<phone>"),
    ],
)
def test_addresses_and_phone_numbers_are_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "carts[3]@1234567890 rejected",
        "offset 17000000000, 42 contacts in 1.5s",
        "occurred_at 2024-05-01T10:00:00+02:00",
        "sku-1 x 2",
    ],
)
def test_offsets_times_and_ids_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.fixture
def records(capsys: pytest.CaptureFixture[str]) -> Iterator[logging.Logger]:
    yield logging.getLogger("relance.test")
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "root": {"level": "WARNING", "handlers": []},
        }
    )


def configure(log_format: str, log_level: str = "info") -> None:
    logging.config.dictConfig(
        logging_config(load_settings(log_format=log_format, log_level=log_level))
    )


def test_a_json_line_about_a_message_carries_its_coordinates(
    records: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json")
    records.warning(
        "%s[%d]@%d rejected: %s",
        "carts",
        2,
        40,
        "bad email ann@example.com",
        extra=about("carts", 2, 40, b"ann"),
    )
    (line,) = capsys.readouterr().out.splitlines()
    record = orjson.loads(line)
    assert record["level"] == "warning" and record["logger"] == "relance.test"
    assert record["message"] == "carts[2]@40 rejected: bad email <email>"
    assert {k: record[k] for k in ("topic", "partition", "offset", "contact_id")} == {
        "topic": "carts",
        "partition": 2,
        "offset": 40,
        "contact_id": "ann",
    }
    assert record["time"].endswith("+00:00")


def test_exceptions_are_masked_too_in_both_formats(
    records: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    for log_format in ("json", "text"):
        configure(log_format, "debug")  # where a traceback is logged at all
        try:
            raise ValueError("no mailbox ann@example.com, no phone +33612345678")
        except ValueError:
            records.exception("delivery failed")
        out = capsys.readouterr().out
        assert "ValueError" in out and "ann@example.com" not in out
        assert "+33612345678" not in out


def test_an_error_is_one_line_and_its_traceback_is_logged_only_at_debug(
    records: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """faust's crash path logs the error with its traceback (a web port in use, say)."""
    for level, traced in (("info", False), ("debug", True)):
        configure("json", level)
        error = OSError(98, "address already in use")
        try:
            raise error
        except OSError:
            logging.getLogger("faust.worker").exception("[^Worker]: Error: %r", error)
            records.exception("the outbox index failed")
        lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["message"] for line in lines] == [
            "[^Worker]: Error: OSError(98, 'address already in use')",
            "the outbox index failed"
            + ("" if traced else ": OSError: [Errno 98] address already in use"),
        ]
        assert [("exception" in line) for line in lines] == [traced, traced], level


def test_a_text_line_is_one_line_with_level_and_logger(
    records: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("text")
    records.warning("contact %s: %s", "bob", "bob@example.com")
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith("[WARNING] relance.test: contact bob: <email>")
