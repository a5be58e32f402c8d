"""Offline runs of the core: ``relance simulate``, its shards, event files."""
