"""Benchmarks of the project against the raw store clients, side by side in one run (`make bench`).

Not part of `make test`: the unit tests in bench/tests/ cover only the pure parts (corpus, statistics,
report shape); the figures come from `python -m bench`, see BENCHMARKS.md.
"""
