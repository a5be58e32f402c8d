"""``relance report``: what each scenario brought in, against its holdout.

From decision records (``relance simulate --explain``, or the decisions topic), joined by
command id with delivery results and clicks: per scenario, step and variant, messages sent,
delivered and clicked, conversions, revenue, and the lift over the holdout with its 95 %
interval. Pure but for ``sources`` (files and Kafka).
"""
