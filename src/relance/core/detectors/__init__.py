"""Detectors: one module per scenario family.

Each exposes ``on_event(part, event, ...)`` and ``on_due(part, now, ...)`` returning the new
state part and the candidates it raises. They read no clock: time comes in as ``now``.
"""
