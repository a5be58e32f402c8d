"""The hand-written Avro writer of send commands writes what fastavro writes."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from relance.codec import avro
from relance.codec.command_writer import FIELDS, RECIPIENT_FIELDS, write_command
from relance.codec.outputs import AvroOutputCodec, JsonOutputCodec, command_to_avro, write_avro
from relance.core.commands import Recipient, SendCommand
from relance.core.engine import Engine
from relance.core.scenarios import DEFAULT_CONFIG
from relance.demo.samples.shop_traffic import generate

SCHEMA = Path(__file__).parents[2] / "schemas" / "send_command.avsc"


def test_the_writer_writes_the_fields_of_the_schema_file_in_order() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert tuple(f["name"] for f in schema["fields"]) == FIELDS
    (recipient,) = (f["type"] for f in schema["fields"] if f["name"] == "recipient")
    assert tuple(f["name"] for f in recipient["fields"]) == RECIPIENT_FIELDS


def fastavro_bytes(command: SendCommand) -> bytes:
    return write_avro(avro.COMMAND_SCHEMA, command_to_avro(command.to_record()))


def commands_of_traffic() -> list[SendCommand]:
    engine = Engine(DEFAULT_CONFIG)
    found = []
    for event in generate(2_000, seed=3):
        found.extend(o for o in engine.feed(event).outcomes if isinstance(o, SendCommand))
    return found


def test_commands_of_generated_traffic_are_written_byte_for_byte_as_fastavro_does() -> None:
    commands = commands_of_traffic()
    assert len(commands) > 100
    for command in commands:
        assert write_command(command) == fastavro_bytes(command)


BASE = SendCommand(
    "c-1",
    "ann",
    "cart_abandonment",
    1,
    "email",
    "cart",
    50,
    1_714_525_200_499,
    Recipient("ann@x.example", "fr-FR", "Europe/Paris"),
    {"items": []},
)


@pytest.mark.parametrize(
    "command",
    [
        BASE,
        msgspec.structs.replace(BASE, step=300, priority=-5, decided_at=-1, marketing=False),
        SendCommand(
            "é-ü",
            "zoë 🙂",
            "s" * 200,
            70_000,
            "sms",
            "t",
            1 << 20,
            1 << 42,
            Recipient(
                None, None, None, "+33600000000", "Zoë", {"tier": "gold", "ville": "Besançon"}
            ),
            {"deep": {"list": [1, 2.5, None, "x"]}},
            variant="b",
            expires_at=1 << 41,
            marketing=False,
        ),
        SendCommand(
            "c", "d", "s", 1, "email", "t", 0, 0, Recipient(None, None, None), {}, expires_at=0
        ),
    ],
    ids=["plain", "edges", "everything", "zeros"],
)
def test_each_field_and_branch_is_written_as_fastavro_writes_it(command: SendCommand) -> None:
    assert write_command(command) == fastavro_bytes(command)


def test_a_written_command_reads_back_as_its_record() -> None:
    command = commands_of_traffic()[0]
    read = AvroOutputCodec().decode_command(AvroOutputCodec().encode_send(command))
    assert read == JsonOutputCodec().decode_command(JsonOutputCodec().encode_send(command))
