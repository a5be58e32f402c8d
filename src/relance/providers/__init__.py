"""Delivery providers: one module per backend beside the ``Provider`` protocol in ``base``."""
