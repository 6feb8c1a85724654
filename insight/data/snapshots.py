"""Tables of periodic snapshots: one row per customer per snapshot date (`insight train --time COL`).

`snapshot_rows` reads the time column as dates (a clear error naming a value it cannot read), leaves out the
rows after `--as-of` and returns the table with the column as dates; ids may repeat across snapshots but not
within one (`insight.data.schema.validate_spec` checks that). `snapshot_plan` then says which snapshots
train and which one tests out of time:

- a snapshot is *labelled* when its known churn labels hold at least `MIN_PER_CLASS` churners and as many
  stayers (labels may be blank in the latest snapshots: not known yet);
- L, the latest labelled snapshot, is the out-of-time test; the labelled rows of every snapshot before L
  train (split at random into training, validation and test rows as without --time);
- S, the latest snapshot (L or later), holds the customers the dashboard shows.

A table with fewer than two labelled snapshots cannot be tested out of time: that is an error that says to
train without --time or add snapshots (the model would otherwise be trained and tested on one month, which
is what a run without --time already does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)

MIN_PER_CLASS = 10
"""A snapshot is labelled when it has at least this many churners and this many stayers (as a table must)."""


def parse_date(text: str, option: str = "--as-of") -> pd.Timestamp:
    """An ISO date given on the command line (`--as-of 2026-03-31`)."""
    from datetime import datetime

    try:  # ISO only: pandas would read 'March' as the first of March this year
        stamp = pd.Timestamp(datetime.fromisoformat(str(text).strip()))
    except (ValueError, TypeError):
        raise InputError(f"{option} {text!r} is not a date; give it as YYYY-MM-DD (e.g. 2026-03-31).") from None
    return stamp.tz_localize(None).normalize() if stamp.tzinfo else stamp.normalize()


def snapshot_dates(series: pd.Series, name: str) -> pd.Series:
    """The time column as dates (day precision, no time zone); InputError naming an example when a value is
    empty or cannot be read as a date."""
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series)
        bad = dates.isna()
    else:
        text = series.astype("string").str.strip()
        text = text.mask(text == "")
        dates = pd.to_datetime(text, errors="coerce", format="mixed")
        unreadable = dates.isna() & text.notna()
        if unreadable.any():
            example = text[unreadable].iloc[0]
            raise InputError(f"time column {name!r} has {int(unreadable.sum()):,} values that are not dates "
                             f"(e.g. {example!r} in row {int(np.flatnonzero(unreadable.to_numpy())[0]) + 1}); "
                             "give each snapshot's date as YYYY-MM-DD, or choose another --time column.")
        bad = text.isna()
    if bad.any():
        raise InputError(f"time column {name!r} is empty in {int(bad.sum()):,} rows (e.g. row "
                         f"{int(np.flatnonzero(bad.to_numpy())[0]) + 1}); every row needs its snapshot date.")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.dt.normalize().astype("datetime64[ns]")


def snapshot_rows(frame: pd.DataFrame, time_column: str, *, as_of: str | None = None) -> pd.DataFrame:
    """`frame` with `time_column` read as dates and the rows after `as_of` left out (index reset).
    InputError when the column is missing, a value is not a date, or `as_of` is before every snapshot."""
    if time_column not in frame.columns:
        from insight.data.schema import _column_list, _did_you_mean

        raise InputError(f"--time column {time_column!r} is not in the table"
                         f"{_did_you_mean(time_column, frame.columns)}. Columns are: "
                         f"{_column_list(frame.columns)}.")
    dates = snapshot_dates(frame[time_column], time_column)
    out = frame.copy()
    out[time_column] = dates
    if as_of is not None:
        cut = parse_date(as_of)
        first = dates.min()
        if cut < first:
            raise InputError(f"--as-of {cut.date()} is before the first snapshot ({first.date()}); give a date "
                             f"from {first.date()} to {dates.max().date()}.")
        keep = (dates <= cut).to_numpy()
        if not keep.all():
            log.info("--as-of %s: %d rows of later snapshots left out", cut.date(), int((~keep).sum()))
        out = out[keep]
    out.attrs = dict(frame.attrs)
    return out.reset_index(drop=True)


def check_ids_per_snapshot(frame: pd.DataFrame, id_column: str, time_column: str) -> None:
    """InputError naming an example when an id appears twice within one snapshot (ids repeat across
    snapshots)."""
    repeated = frame.duplicated([id_column, time_column]).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        when = frame[time_column].iloc[first]
        when = when.date() if isinstance(when, pd.Timestamp) else when
        raise InputError(f"id column {id_column!r} has {int(repeated.sum()):,} ids repeated within one snapshot "
                         f"(e.g. {frame[id_column].iloc[first]!r} twice on {str(when)!r} in {time_column!r}); "
                         "each customer must appear once per snapshot: deduplicate the table or choose another "
                         "--id or --time.")


@dataclass(frozen=True)
class SnapshotPlan:
    """Which rows train, which test out of time and which the dashboard shows (row positions of the table
    `snapshot_rows` returned)."""

    time_column: str
    as_of: str | None
    dates: np.ndarray
    """Each row's snapshot date (datetime64[ns])."""
    snapshots: tuple[pd.Timestamp, ...]
    """Every snapshot date, oldest first."""
    labelled: tuple[pd.Timestamp, ...]
    """The labelled snapshots, oldest first (at least two)."""
    counts: tuple[dict[str, Any], ...]
    """Per snapshot: date, rows, labelled (rows with a known label)."""

    @property
    def out_of_time(self) -> pd.Timestamp:
        """L: the latest labelled snapshot."""
        return self.labelled[-1]

    @property
    def latest(self) -> pd.Timestamp:
        """S: the latest snapshot, whose customers a run shows."""
        return self.snapshots[-1]

    @property
    def trained_through(self) -> pd.Timestamp:
        """The last snapshot whose labelled rows train: the labelled snapshot before L."""
        return self.labelled[-2]

    def rows_of(self, date: pd.Timestamp) -> np.ndarray:
        return np.flatnonzero(self.dates == np.datetime64(date))

    def training_mask(self) -> np.ndarray:
        """Rows of the snapshots before L (the labelled ones among them train)."""
        return self.dates < np.datetime64(self.out_of_time)

    def training_labels(self, y: np.ndarray) -> np.ndarray:
        """`y` with every label outside the training snapshots blanked, for `split_rows`."""
        return np.where(self.training_mask(), y, np.nan)

    def out_of_time_rows(self, y: np.ndarray) -> np.ndarray:
        """L's rows with a known label."""
        rows = self.rows_of(self.out_of_time)
        return rows[~np.isnan(y[rows])]

    def latest_rows(self) -> np.ndarray:
        """S's rows: the run's customers, one per id."""
        return self.rows_of(self.latest)

    def to_dict(self) -> dict[str, Any]:
        """What a run's manifest records (metrics.time)."""
        return {"column": self.time_column, "as_of": self.as_of,
                "trained_through": iso(self.trained_through), "out_of_time_snapshot": iso(self.out_of_time),
                "latest_snapshot": iso(self.latest),
                "training_snapshots": [iso(d) for d in self.snapshots if d < self.out_of_time],
                "snapshots": list(self.counts)}


def iso(date: pd.Timestamp | np.datetime64) -> str:
    return str(pd.Timestamp(date).date())


def labelled_snapshots(dates: np.ndarray, y: np.ndarray) -> tuple[list[pd.Timestamp], list[dict[str, Any]]]:
    """The labelled snapshots (oldest first) and every snapshot's counts."""
    frame = pd.DataFrame({"date": dates, "y": y})
    grouped = frame.groupby("date", sort=True)["y"]
    churners, known, rows = grouped.sum(min_count=1).fillna(0), grouped.count(), grouped.size()
    labelled = [pd.Timestamp(d) for d in rows.index
                if churners[d] >= MIN_PER_CLASS and known[d] - churners[d] >= MIN_PER_CLASS]
    counts = [{"date": iso(d), "rows": int(rows[d]), "labelled": int(known[d])} for d in rows.index]
    return labelled, counts


def snapshot_plan(dates: pd.Series | np.ndarray, y: np.ndarray, *, time_column: str,
                  as_of: str | None = None) -> SnapshotPlan:
    """The plan of the module docstring for rows dated `dates` with clean labels `y` (0/1, NaN unknown).
    InputError with fewer than two labelled snapshots."""
    when = np.asarray(pd.to_datetime(pd.Series(dates)).to_numpy(), dtype="datetime64[ns]")
    labelled, counts = labelled_snapshots(when, y)
    snapshots = tuple(pd.Timestamp(d) for d in np.unique(when))
    if len(labelled) < 2:
        found = (f"only {iso(labelled[0])} is" if labelled else "none of the "
                 f"{len(snapshots)} snapshots is")
        raise InputError(f"testing out of time needs at least two labelled snapshots in {time_column!r} (each "
                         f"with {MIN_PER_CLASS} churners and {MIN_PER_CLASS} stayers), but {found} labelled"
                         f"{' up to --as-of ' + str(as_of) if as_of else ''}. Train without --time, or add "
                         "earlier snapshots.")
    return SnapshotPlan(time_column=time_column, as_of=as_of, dates=when, snapshots=snapshots,
                        labelled=tuple(labelled), counts=tuple(counts))
