"""Event streams for demos, tests and benchmarks: the real OTTO sample and generated traffic."""
