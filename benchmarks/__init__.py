"""Benchmarks that print measured figures; run from the project root as `python -m benchmarks NAME`."""
