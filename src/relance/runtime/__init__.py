"""The live runtime on Kafka: the only package that imports faust."""
