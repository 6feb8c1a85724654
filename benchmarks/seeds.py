"""What the benchmarks that draw one table per seed share (`--seed 0 1 2 ... [--json FILE]`): run one seed at a
time, print its figures as soon as they are measured, and write them all as JSON (one object for one seed)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def run_seeds(seeds: Sequence[int], measure: Callable[[int], dict[str, Any]],
              show: Callable[[dict[str, Any]], None], json_path: str | None) -> list[dict[str, Any]]:
    """`measure(seed)` for each seed, each result passed to `show` at once; all of them written to `json_path`
    when given."""
    results = []
    for seed in seeds:
        result = measure(seed)
        show(result)
        sys.stdout.flush()
        results.append(result)
    if json_path:
        Path(json_path).write_text(json.dumps(results if len(results) > 1 else results[0], indent=2) + "\n")
    return results
