"""A run's SHAP values for the dashboard: one customer's, samples, importance within a scope, and what drives
a group's risk against everyone else's. `ShapQueries` is a part of `insight.runs.store.RunStore`: it is given
the run's tables (`insight.runs.tables.RunTables`: the connection, column checks and filters) it queries."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.models.shap_groups import contrast_from_sums
from insight.runs import layout
from insight.runs.sql import CUSTOMERS, SAMPLE_SHAP_VIEW, SHAP, quote_ident, quote_literal
from insight.runs.tables import RiskFilter, RunTables

SEGMENT, BAND = quote_ident(layout.SEGMENT_ID), quote_ident(layout.RISK_BAND)


class ShapQueries:
    """Queries over the SHAP view (shap.parquet), its map-sample view and the stored group sums."""

    def __init__(self, tables: RunTables, *, shap_groups: Path | None = None) -> None:
        self.db = tables
        self.shap_groups_file = Path(shap_groups) if shap_groups is not None else None

    @cached_property
    def features(self) -> list[str]:
        """The features that have SHAP values (none when the run has no shap.parquet)."""
        if not self.db.has_shap:
            return []
        frame = self.db.query(f"DESCRIBE SELECT * FROM {SHAP}")
        return [c for c in frame["column_name"] if c not in (self.db.id_column, layout.BASE_VALUE)]

    def customer(self, customer_id: Any) -> pd.Series | None:
        """One customer's SHAP values (one per feature, plus base_value), or None."""
        if not self.db.has_shap:
            return None
        frame = self.db.query(f"SELECT * EXCLUDE ({quote_ident(self.db.id_column)}) FROM {SHAP} "
                              f"WHERE {self.db.id_is()} LIMIT 1", [str(customer_id)])
        return None if frame.empty else frame.iloc[0].astype("float64")

    def sample_where(self, features: list[str], n: int, flt: RiskFilter | None = None, *,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        """SHAP values and feature values of up to `n` customers, drawn repeatably (the same ones for the same
        seed) from those `flt` matches (all customers when None); rows aligned and ordered by id."""
        idc = self.db.col(self.db.id_column)
        w = self.db.where(flt)
        empty = pd.DataFrame(columns=features), pd.DataFrame(columns=features)
        if not self.db.has_shap:
            return empty
        bad = [f for f in features if f not in self.features]
        if bad:
            raise ValueError(f"no SHAP values for {bad}")
        ids = self.db.query(f"SELECT {idc} AS id FROM {CUSTOMERS} WHERE {w.sql} "
                            f"ORDER BY {self.db.sample_order()} "
                            "LIMIT ?", [*w.params, int(seed), int(n)])["id"].tolist()
        if not ids:
            return empty
        shap_cols = ", ".join(f"s.{quote_ident(f)}" for f in features)
        columns = ", ".join(self.db.col(f) for f in features)
        values = self.db.query(f"SELECT {idc}, {columns} FROM {CUSTOMERS} "
                               f"WHERE {idc} IN (SELECT UNNEST(?)) ORDER BY {idc}", [ids])
        shap = self.db.query(f"SELECT s.{idc}, {shap_cols} FROM {SHAP} s WHERE s.{idc} IN (SELECT UNNEST(?)) "
                             f"ORDER BY s.{idc}", [ids])
        return shap.reset_index(drop=True), values.reset_index(drop=True)

    def importance(self, flt: RiskFilter | None = None) -> pd.DataFrame:
        """Mean |SHAP| per feature over the customers `flt` matches (all when None), largest first: columns
        feature, mean_abs_shap; empty when no customer matches or the run has no SHAP values."""
        features = self.features
        if not features:
            return _no_importance()
        w = self.db.where(flt)
        idc = self.db.col(self.db.id_column)
        means = ", ".join(f"avg(abs({quote_ident(f)})) AS {quote_ident(f)}" for f in features)
        row = self.db.query(f"SELECT count(*) AS __n, {means} FROM {SHAP} "
                            f"WHERE {idc} IN (SELECT {idc} FROM {CUSTOMERS} WHERE {w.sql})", w.params).iloc[0]
        if int(row["__n"]) == 0:
            return _no_importance()
        frame = pd.DataFrame({"feature": features, "mean_abs_shap": [float(row[f]) for f in features]})
        return frame.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    @cached_property
    def groups(self) -> pd.DataFrame:
        """Customers and SHAP sums per (segment_id, risk_band) (insight.models.shap_groups): read from the
        run's shap_groups.parquet, or counted once from shap.parquet for runs that lack the file."""
        if self.shap_groups_file is not None and self.shap_groups_file.exists():
            return self.db.query(f"SELECT * FROM read_parquet({quote_literal(str(self.shap_groups_file))})")
        idc = quote_ident(self.db.id_column)
        sums = ", ".join(f"sum(s.{quote_ident(f)}) AS {quote_ident(f)}" for f in self.features)
        return self.db.query(f"SELECT c.{SEGMENT}, CAST(c.{BAND} AS VARCHAR) AS {BAND}, "
                             f"count(*) AS customers, {sums} FROM {SHAP} s JOIN {CUSTOMERS} c "
                          f"ON s.{idc} = c.{idc} GROUP BY ALL ORDER BY ALL")

    def contrast(self, flt: RiskFilter | None = None, *, ids: list[Any] | None = None) -> pd.DataFrame:
        """Mean SHAP value of every feature among the chosen customers and among the rest: what drives the
        chosen group's risk (a positive mean raises it). Chosen: those `flt` matches and, with `ids`, whose
        id (as text) is listed. Columns feature, selected, rest, difference, customers_selected,
        customers_rest; the largest |difference| first. Empty when the run has no SHAP values.

        Segments and bands come from `groups` and a list of ids from the SHAP values of those customers
        alone (the map sample's, where they all are in it), so neither reads every customer's SHAP values."""
        columns = ["feature", "selected", "rest", "difference", "customers_selected", "customers_rest"]
        features = self.features
        if not features:
            return pd.DataFrame(columns=columns)
        if flt is not None and flt.conditions:
            out = self._shap_contrast_scan(flt, ids)
        else:
            groups = self.groups
            chosen = np.ones(len(groups), dtype=bool)
            if flt is not None and flt.segments:
                chosen &= groups[layout.SEGMENT_ID].isin([int(g) for g in flt.segments]).to_numpy()
            if flt is not None and flt.bands:
                chosen &= groups[layout.RISK_BAND].isin(list(flt.bands)).to_numpy()
            if ids is None:
                out = contrast_from_sums(groups, chosen, features)
            elif chosen.all():
                out = contrast_from_sums(groups, chosen, features, selected=self._shap_sums_of(ids))
            else:
                out = self._shap_contrast_scan(flt, ids)
        out["difference"] = out["selected"] - out["rest"].fillna(0.0)
        order = out["difference"].abs().sort_values(ascending=False, na_position="last").index
        return out.reindex(order).reset_index(drop=True)[columns]

    def _shap_sums_of(self, ids: list[Any]) -> tuple[int, np.ndarray]:
        """How many of `ids` (as text) have SHAP values, and the sum of each feature's over them: from the
        map sample's SHAP values when it holds every one of them, else from all."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if self.db.has_shap_sample:
            found, sums = self._shap_sums_in(SAMPLE_SHAP_VIEW, wanted)
            if found == len(wanted):
                return found, sums
        return self._shap_sums_in(SHAP, wanted)

    def _shap_sums_in(self, table: str, ids: list[str]) -> tuple[int, np.ndarray]:
        idc = quote_ident(self.db.id_column)
        sums = ", ".join(f"sum({quote_ident(f)}) AS {quote_ident(f)}" for f in self.features)
        row = self.db.query(f"SELECT count(*) AS __n, {sums} FROM {table} "
                            f"WHERE CAST({idc} AS VARCHAR) IN (SELECT UNNEST(?))", [ids]).iloc[0]
        return int(row["__n"]), row[self.features].to_numpy(dtype=np.float64, na_value=0.0)

    def _shap_contrast_scan(self, flt: RiskFilter | None, ids: list[Any] | None) -> pd.DataFrame:
        """`contrast` for any filter: one pass over every customer's SHAP values."""
        features = self.features
        w = self.db.where(flt)
        idc = self.db.col(self.db.id_column)
        chosen, params = w.sql, list(w.params)
        if ids is not None:
            chosen = f"({chosen}) AND CAST({idc} AS VARCHAR) IN (SELECT UNNEST(?))"
            params.append([str(i) for i in ids])
        means = ", ".join(f"avg(s.{quote_ident(f)}) AS {quote_ident(f)}" for f in features)
        frame = self.db.query(f"SELECT (s.{idc} IN (SELECT {idc} FROM {CUSTOMERS} WHERE {chosen})) "
                              "AS __chosen, "
                              f"count(*) AS __n, {means} FROM {SHAP} s GROUP BY ALL", params)
        groups = {bool(r["__chosen"]): r for _, r in frame.iterrows()}
        inside, outside = groups.get(True), groups.get(False)
        return pd.DataFrame({
            "feature": features,
            "selected": [float(inside[f]) if inside is not None else np.nan for f in features],
            "rest": [float(outside[f]) if outside is not None else np.nan for f in features],
            "customers_selected": int(inside["__n"]) if inside is not None else 0,
            "customers_rest": int(outside["__n"]) if outside is not None else 0,
        })


def _no_importance() -> pd.DataFrame:
    return pd.DataFrame({"feature": pd.Series(dtype="object"), "mean_abs_shap": pd.Series(dtype=float)})
