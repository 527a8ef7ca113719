"""Benchmarks: each poolstore operation measured beside an honest baseline.

Run ``python3 benchmarks/run.py [--quick] [--output docs/BENCHMARKS.md]``.
"""
