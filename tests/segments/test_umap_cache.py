"""insight.segments.umap_cache: umap-learn's compiled functions are compiled by the first process only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import json, numpy as np
import umap.umap_ as uu, umap.layouts as ul
from insight.config import SegmentConfig
from insight.segments.clustering import project
rng = np.random.default_rng(0)
project(rng.normal(size=(400, 8)).astype(np.float32), config=SegmentConfig(n_epochs=20, trustworthiness_sample=100))
functions = [uu.smooth_knn_dist, uu.compute_membership_strengths, ul._nb_optimize_layout_euclidean_single_epoch]
print(json.dumps({f.py_func.__name__: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
                  for f in functions}))
"""


@pytest.mark.slow
def test_a_second_process_loads_umaps_compiled_code_from_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def stats() -> dict[str, list[int]]:
        done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    first, second = stats(), stats()
    assert all(misses > 0 and hits == 0 for hits, misses in first.values()), first  # compiled, then saved
    assert all(hits > 0 and misses == 0 for hits, misses in second.values()), second  # loaded, not compiled
    assert any((tmp_path / "numba").rglob("*.nbi"))
