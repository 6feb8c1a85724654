"""What changed between two runs: metrics, drift, risk, drivers, segment migration (insight compare, the Changes page)."""
