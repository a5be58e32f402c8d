"""Detectors: one module per scenario kind, each one ``Detector`` (``base``) with a few
named hooks, listed in ``registry``. They read no clock: time comes in as ``now``.
"""
