"""Other trackings' events as relance's own: Segment-spec calls (Segment, RudderStack,
Jitsu), GA4 events (Measurement Protocol requests, BigQuery export rows), Shopify webhooks,
and anything else through a declarative mapping file.

Each adapter reads one message of its source and gives the canonical events it stands for
(``mapped.Mapped``), or refuses it with ``InvalidEventError`` like any decoder. Pure: no
Kafka, no clock; ``relance simulate`` and the worker's source relay call the same adapters,
built from the scenario file's ``inputs.sources`` (``sources.adapter_for``).
"""
