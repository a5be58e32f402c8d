"""Kafka plumbing both processes share: clients from settings, topic specs and creation,
acknowledged outputs, changelogs."""
