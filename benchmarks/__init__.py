"""Offline benchmarks (speed, memory, delivery, summary quality).

Run the suite with ``python -m benchmarks`` (``--quick`` for the one-minute CI run; see
``docs/benchmarks.md``); ``python -m benchmarks.summary_quality`` runs the ROUGE evaluation alone.
"""
