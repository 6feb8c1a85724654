"""The Targeting page's queries on the active run: how its customers can be ranked for a retention offer, the
offer's benefit curve and best cut (insight.decisions.targeting) and the list to contact.

Three rankings (insight.decisions.targeting.RANKINGS): by expected saving (every run), by value at risk within
the survival model's main horizon (runs with --duration and a value per period), by the offer's estimated
effect (runs with --treatment: uplift x value - cost, sleeping dogs never listed). The list always follows the
plan's own contact order, so that the first k rows of the list are the k customers the curve counts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.decisions.targeting import (RANK_BY_PROBABILITY, RANK_BY_UPLIFT, RANK_BY_VALUE, OfferEconomics,
                                        TargetPlan, plan, ranking_order, typical_value, uplift_plan)
from insight.runs import layout
from insight.runs.export import csv_bytes
from insight.ui import tables
from insight.ui.caching import data
from insight.ui.context import ActiveRun
from insight.uplift.groups import SLEEPING_DOG

if TYPE_CHECKING:
    from insight.ui.tables import SurvivalView

log = logging.getLogger(__name__)

UPLIFT_LIST_COLUMNS = (layout.UPLIFT, layout.UPLIFT_LOWER, layout.UPLIFT_UPPER, layout.UPLIFT_GROUP)
"""What the target list shows of the offer's effect, beside the risk."""


class TargetingQueries(ActiveRun):
    """The Targeting page's part of insight.ui.facade.RunFacade."""

    survival_view: SurvivalView  # RunFacade's

    @property
    def has_uplift(self) -> bool:
        """Whether the run estimated the offer's effect per customer (trained with --treatment)."""
        return layout.UPLIFT in self.store.column_types

    def rankings(self) -> tuple[str, ...]:
        """How Targeting can rank the customers: by the offer's effect first when the run has uplift, by
        expected saving, and by value at risk within the main horizon when the run has survival with a period
        value."""
        return ((RANK_BY_UPLIFT,) if self.has_uplift else ()) + (RANK_BY_PROBABILITY,) + \
            ((RANK_BY_VALUE,) if self.survival_view.value_at_risk else ())

    @data(max_entries=16)
    def probability_and_value(self) -> pd.DataFrame:
        """Every customer's id, churn probability and value, riskiest first (ties by id)."""
        return self.store.probability_and_value()

    @data(max_entries=16)
    def value_at_risk_ranking(self) -> pd.DataFrame:
        """Every customer's id, churn probability, churn within the main horizon and value at risk within it,
        in contact order by value at risk (insight.decisions.targeting.ranking_order; ties by id)."""
        value, within = self.survival_view.value_at_risk, self.survival_view.churn_within
        if value is None or within is None:
            raise ValueError("this run has no value at risk to rank by")
        frame = self.store.risk_table(columns=[self.id_column, layout.CHURN_PROBABILITY, within, value],
                                      sort_by=value, limit=None)
        order = ranking_order(frame[within].to_numpy(dtype=float), frame[value].to_numpy(dtype=float))
        return frame.iloc[order].reset_index(drop=True)

    @data(max_entries=16)
    def uplift_figures(self) -> pd.DataFrame:
        """`probability_and_value` with each customer's estimated uplift and whether they are a sleeping dog."""
        if not self.has_uplift:
            raise ValueError("this run has no uplift to rank by: train it with --treatment")
        ranked = self.probability_and_value()
        effect = self.store.risk_table(columns=[self.id_column, layout.UPLIFT, layout.UPLIFT_LOWER,
                                                layout.UPLIFT_GROUP], limit=None)
        effect = effect.set_index(effect[self.id_column].astype(str))
        ids = ranked["id"].astype(str)
        return ranked.assign(uplift=effect[layout.UPLIFT].reindex(ids).to_numpy(dtype=float),
                             uplift_lower=effect[layout.UPLIFT_LOWER].reindex(ids).to_numpy(dtype=float),
                             sleeping_dog=(effect[layout.UPLIFT_GROUP].reindex(ids) == SLEEPING_DOG).to_numpy())

    @data(max_entries=16)
    def typical_value(self) -> float:
        """The mean value of a customer (100 for a run without revenue): the offer's default value."""
        ranked = self.probability_and_value()
        return typical_value(ranked["value"].to_numpy(dtype=float) if self.value_column else None)

    def _own_values(self, frame: pd.DataFrame) -> np.ndarray | None:
        return frame["value"].to_numpy(dtype=float) if self.value_column else None

    def _ranked_frame(self, rank_by: str) -> pd.DataFrame:
        """The figures `target_plan` ranks, one row per customer ("id" or the id column first)."""
        if rank_by == RANK_BY_VALUE:
            return self.value_at_risk_ranking()
        return self.uplift_figures() if rank_by == RANK_BY_UPLIFT else self.probability_and_value()

    def target_plan(self, economics: OfferEconomics, rank_by: str = RANK_BY_PROBABILITY, *,
                    shown_to_move: bool = False) -> TargetPlan:
        """The offer's benefit curve over the customers in `rank_by`'s order, and its best cut; ranked by the
        offer's effect with `shown_to_move`, only customers whose interval lies above 0 are listed."""
        ranked = self._ranked_frame(rank_by)
        if rank_by == RANK_BY_VALUE:
            view = self.survival_view
            return plan(ranked[view.churn_within].to_numpy(dtype=float), None, economics,
                        value_at_risk=ranked[view.value_at_risk].to_numpy(dtype=float))
        if rank_by == RANK_BY_UPLIFT:
            return uplift_plan(ranked["uplift"].to_numpy(), self._own_values(ranked), economics,
                               sleeping_dog=ranked["sleeping_dog"].to_numpy(),
                               lower=ranked["uplift_lower"].to_numpy() if shown_to_move else None)
        return plan(ranked[layout.CHURN_PROBABILITY].to_numpy(dtype=float), self._own_values(ranked), economics)

    def risk_plan_by_uplift(self, economics: OfferEconomics) -> TargetPlan:
        """The riskiest first, valued by the same estimated uplift: the curve the uplift ranking is set beside."""
        ranked = self.uplift_figures()
        return uplift_plan(ranked["uplift"].to_numpy(), self._own_values(ranked), economics,
                           order_by=ranked[layout.CHURN_PROBABILITY].to_numpy(dtype=float))

    def sleeping_dogs_listed(self, offer: TargetPlan) -> int:
        """How many sleeping dogs the first `offer.contacted` customers of an uplift-valued plan hold."""
        dogs = self.uplift_figures()["sleeping_dog"].to_numpy(dtype=bool)
        return int(dogs[offer.order[:offer.contacted]].sum()) if offer.order is not None else 0

    def target_rows(self, limit: int, economics: OfferEconomics, rank_by: str = RANK_BY_PROBABILITY, *,
                    shown_to_move: bool = False) -> pd.DataFrame:
        """The first `limit` customers of the plan's ranking with the offer's expected benefit
        (insight.ui.tables.target_list): the riskiest, those with the most value at risk or expected saving, or
        those the offer moves most."""
        offer = self.target_plan(economics, rank_by, shown_to_move=shown_to_move)
        ranked = self._ranked_frame(rank_by)
        id_key = self.id_column if rank_by == RANK_BY_VALUE else "id"
        ids = ranked[id_key].to_numpy()[offer.order[:max(0, limit)]].tolist()
        value = self.value_column
        wanted = [self.id_column, layout.CHURN_PROBABILITY, layout.RISK_BAND, *([value] if value else []),
                  *layout.REASONS]
        extra: dict[str, Any] = {}
        if rank_by == RANK_BY_VALUE:
            extra = {"value_at_risk": self.survival_view.value_at_risk, "within": self.survival_view.churn_within}
            wanted += [extra["within"], extra["value_at_risk"]]
        elif rank_by == RANK_BY_UPLIFT:
            extra = {"uplift": True}
            wanted += [*UPLIFT_LIST_COLUMNS, *layout.RESPONSE_REASONS]
        known = [c for c in dict.fromkeys(wanted) if c in self.store.column_types]
        rows = self.store.customers_by_ids(ids, known)
        return tables.target_list(rows, id_column=self.id_column, value_column=value, economics=economics, **extra)

    def target_export(self, limit: int, economics: OfferEconomics, rank_by: str = RANK_BY_PROBABILITY, *,
                      shown_to_move: bool = False) -> bytes:
        """`target_rows` as CSV (cells a spreadsheet could run as a formula start with a single quote)."""
        return csv_bytes(self.target_rows(limit, economics, rank_by, shown_to_move=shown_to_move))
