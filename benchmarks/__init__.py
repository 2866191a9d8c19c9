"""Offline benchmarks (quality, speed, memory); run with ``python -m benchmarks.<name>``."""
