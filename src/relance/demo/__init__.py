"""The demo and the tests' parts: embedded broker, mail sink, child processes, shoppers and
samples. Installed with the ``demo`` extra; production code never imports it."""
