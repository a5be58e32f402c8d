"""Wire formats in one place: plain records, JSON lines and (with the runtime) Avro."""
