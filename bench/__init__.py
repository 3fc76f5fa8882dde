"""Benchmark harness comparing jobdeck with other Redis job queues (see bench/README.md)."""
