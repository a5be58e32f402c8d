"""The stream worker: the batch loop, the per-message pipeline, the event-time merge and
watermarks, the contact-state store."""
