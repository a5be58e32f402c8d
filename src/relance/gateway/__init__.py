"""The gateway (``relance gateway``): the small internet-facing HTTP service that answers the
links in messages (unsubscribe in one click, preferences, click tracking) and writes what the
contact asked for to the engagement topic. ``links`` is the URL scheme the sender builds
links with; the rest is pure but for the Kafka writer (``relance.host`` serves it)."""
