"""relance: Kafka-native trigger marketing for online shops."""

__version__ = "0.1.0"
