"""What a refused record's error says, and the partition a key goes to."""

from __future__ import annotations

from confluent_kafka import KafkaError

from relance.kafka.clients import key_partition
from relance.kafka.outputs import refusal


def test_a_record_too_large_names_topic_partition_size_and_what_to_change() -> None:
    text = refusal(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), "changelog", 3, 5_242_911)
    assert text.startswith("changelog[3]: a record of 5242911 bytes was refused: ")
    assert "RELANCE_PRODUCER_MESSAGE_MAX_BYTES" in text and "max.message.bytes" in text


def test_another_refusal_gives_the_client_error_without_the_size_advice() -> None:
    text = refusal(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), "deliveries", None, 10)
    assert text.startswith("deliveries: a record of 10 bytes was refused: ")
    assert "max.message.bytes" not in text


def test_key_partition_is_kafkas_murmur2() -> None:
    # Kafka's own murmur2 test vectors (signed 32-bit hashes), taken positive as its
    # partitioner does; on the embedded broker librdkafka's murmur2_random agreed on 206 keys.
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"abc": 479470107,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    }
    for key, hashed in vectors.items():
        assert key_partition(key, 2**31 - 1) == (hashed & 0x7FFFFFFF) % (2**31 - 1)
    assert key_partition(b"contact-1", 1) == 0
