"""insight.segments.latent: a run's latent space in memory, and the customers nearest to one of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.segments.latent import LatentIndex


def _write(tmp_path: Path, ids: list, matrix: np.ndarray) -> Path:
    frame = pd.DataFrame(matrix, columns=[f"z{i}" for i in range(matrix.shape[1])])
    frame.insert(0, "cid", ids)
    path = tmp_path / "latent.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_similar_returns_the_nearest_customers_by_text_id(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(500, 4)).astype(np.float32)
    ids = list(range(1000, 1500))  # integer ids: looked up by their text, as URLs and tables give them
    index = LatentIndex.from_parquet(_write(tmp_path, ids, matrix), id_column="cid")
    assert len(index) == 500 and index.matrix.dtype == np.float32
    near = index.similar("1007", k=5)
    distances = np.linalg.norm(matrix - matrix[7], axis=1)
    distances[7] = np.inf
    expected = np.argsort(distances)[:5]
    assert near["id"].tolist() == [str(1000 + i) for i in expected]
    np.testing.assert_allclose(near["distance"], distances[expected], rtol=1e-5)
    assert index.position(1007) == 7 and index.position("1007") == 7


def test_unknown_customer_gives_an_empty_frame(tmp_path: Path) -> None:
    path = _write(tmp_path, ["a", "b", "c"], np.eye(3, dtype=np.float32))
    index = LatentIndex.from_parquet(path, id_column="cid")
    assert index.position("zz") == -1
    assert index.similar("zz").empty
    assert index.similar("a", k=10)["id"].tolist()[:2] in (["b", "c"], ["c", "b"])


def test_a_file_without_latent_dimensions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latent.parquet"
    pd.DataFrame({"cid": ["a"]}).to_parquet(path)
    with pytest.raises(ValueError, match="latent dimensions"):
        LatentIndex.from_parquet(path, id_column="cid")
