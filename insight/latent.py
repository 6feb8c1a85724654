"""A run's latent space held in memory, to find the customers most like one customer (insight.similar)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


@dataclass(frozen=True)
class LatentIndex:
    """Customer ids (as text) and their latent vectors, row for row."""

    ids: pd.Index
    matrix: np.ndarray

    @classmethod
    def from_parquet(cls, path: Path, *, id_column: str) -> LatentIndex:
        """Read latent.parquet: the id column and every latent dimension (z0, z1, ...), as float32."""
        table = pq.read_table(path)
        dims = [c for c in table.column_names if c != id_column]
        if id_column not in table.column_names or not dims:
            raise ValueError(f"{Path(path).name} needs the id column {id_column!r} and latent dimensions")
        matrix = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in dims])
        ids = pd.Index(pd.Series(table.column(id_column).to_pylist(), dtype="object").astype(str))
        return cls(ids=ids, matrix=np.ascontiguousarray(matrix, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def similar(self, customer_id: Any, k: int = 10) -> pd.DataFrame:
        """The `k` customers nearest to `customer_id` (Euclidean distance in the latent space, the customer
        left out), nearest first: columns id, distance. Empty when the id is unknown."""
        from insight.similar import nearest

        positions = (self.ids.get_indexer([str(customer_id)]) if self.ids.is_unique
                     else np.r_[np.flatnonzero(self.ids == str(customer_id)), -1][:1])
        if positions[0] < 0 or len(self) < 2:
            return pd.DataFrame({"id": pd.Series(dtype="object"), "distance": pd.Series(dtype=float)})
        idx, dist = nearest(self.matrix, int(positions[0]), k)
        return pd.DataFrame({"id": self.ids[idx].to_numpy(), "distance": dist.astype(float)})
