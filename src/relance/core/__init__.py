"""The pure core: events, per-contact state, scenarios, detectors, contact policy and the
engine, with time as a value. Nothing here reads a clock or talks to Kafka
(``tests/unit/test_core_is_pure.py`` checks the whole folder)."""
