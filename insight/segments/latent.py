"""A run's latent space held in memory, to find the customers most like one customer (insight.segments.similar)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class LatentIndex:
    """Customer ids (as text, an Arrow array: a million of them cost megabytes, not Python objects) and their
    latent vectors, row for row."""

    ids: pa.Array
    matrix: np.ndarray
    norms: np.ndarray | None = None
    """Squared row lengths (insight.segments.similar.squared_norms) for the fast neighbour search."""

    @classmethod
    def from_parquet(cls, path: Path, *, id_column: str) -> LatentIndex:
        """Read latent.parquet: the id column and every latent dimension (z0, z1, ...), as float32."""
        table = pq.read_table(path)
        dims = [c for c in table.column_names if c != id_column]
        if id_column not in table.column_names or not dims:
            raise ValueError(f"{Path(path).name} needs the id column {id_column!r} and latent dimensions")
        matrix = np.empty((table.num_rows, len(dims)), dtype=np.float32)
        start = 0
        for batch in table.select(dims).to_batches():  # batch by batch: each block stays in cache
            stop = start + batch.num_rows
            matrix[start:stop] = np.column_stack([column.to_numpy(zero_copy_only=False)
                                                  for column in batch.columns])
            start = stop
        from insight.segments.similar import squared_norms

        ids = pc.cast(table.column(id_column), pa.large_string()).combine_chunks()
        return cls(ids=ids, matrix=matrix, norms=squared_norms(matrix))

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, customer_id: Any) -> int:
        """The row of `customer_id` (compared as text), or -1 when it is unknown."""
        return int(pc.index(self.ids, pa.scalar(str(customer_id), pa.large_string())).as_py())

    def similar(self, customer_id: Any, k: int = 10) -> pd.DataFrame:
        """The `k` customers nearest to `customer_id` (Euclidean distance in the latent space, the customer
        left out), nearest first: columns id, distance. Empty when the id is unknown."""
        from insight.segments.similar import nearest

        row = self.position(customer_id)
        if row < 0 or len(self) < 2:
            return pd.DataFrame({"id": pd.Series(dtype="object"), "distance": pd.Series(dtype=float)})
        idx, dist = nearest(self.matrix, row, k, norms=self.norms)
        return pd.DataFrame({"id": np.asarray(self.ids.take(pa.array(idx)).to_pylist(), dtype=object),
                             "distance": dist.astype(float)})
