"""`insight evaluate`: cross-validate the whole training recipe on a table, or with --time evaluate it by
rolling origin over the table's snapshots (insight.models.rolling)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insight.commands.common import KEEP_HELP, AsOf, Duration, DurationUnit, Horizons, TimeColumn, check_as_of, fail
from insight.commands.common import progress, survival_options
from insight.errors import InputError


def evaluate_command(
    data: Annotated[str, typer.Argument(help="A CSV or Parquet file (or database URL with --table/--query).")],
    id_column: Annotated[str, typer.Option("--id", help="The customer id column.")],
    target: Annotated[str, typer.Option("--target", help="The churn column.")],
    aux: Annotated[list[str] | None, typer.Option("--aux", help="An auxiliary target (repeatable); not a "
                                                               "feature unless also given as --keep.")] = None,
    folds: Annotated[int, typer.Option(help="Number of stratified folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the fold split and the models.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help=KEEP_HELP)] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Never use this column.")] = None,
    positive: Annotated[str | None, typer.Option("--positive", help="The target value that means churned.")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Database table to read.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL query to read.")] = None,
    time_column: TimeColumn = None,
    as_of: AsOf = None,
    duration: Duration = None,
    duration_unit: DurationUnit = None,
    horizons: Horizons = None,
) -> None:
    """Cross-validate the whole training recipe: LightGBM, the multi-task churn head and a logistic baseline.

    With --time (a table of snapshots), evaluate by rolling origin instead of --folds: train on the labelled
    snapshots up to each one, test on the next labelled snapshot, for every snapshot it can.

    With --duration, cross-validate the survival model against Cox PH and Kaplan-Meier on the same folds
    instead (concordance, integrated Brier score, Brier score and calibration per horizon)."""
    import json

    from insight.config import DataSpec, TrainConfig
    from insight.models.evaluate import METRICS, cross_validate
    from insight.data.sources import read_table
    from insight.runs.run import jsonable

    if folds < 2:
        fail("--folds must be at least 2.")
    as_of = check_as_of(time_column, as_of)
    survival = survival_options(duration, duration_unit, horizons, None)
    if duration and time_column:
        fail("--duration with --time is not supported yet: evaluate the survival model on one snapshot.")
    spec = DataSpec(id_column=id_column, target=target, aux_targets=tuple(aux or ()), keep=tuple(keep or ()),
                    exclude=tuple(exclude or ()), positive_label=positive, time_column=time_column, **survival)
    if duration:
        _survival(data, spec, folds=folds, seed=seed, table=table, query=query, json_out=json_out)
        return
    if time_column:
        _rolling(data, spec, TrainConfig(seed=seed, as_of=as_of), table=table, query=query, json_out=json_out)
        return
    try:
        frame = read_table(data, table=table, query=query)
        with progress() as report:
            result = cross_validate(frame, spec, TrainConfig(seed=seed), folds=folds, progress=report)
    except InputError as e:
        fail(str(e))
    from rich.table import Table

    grid = Table(title=f"{folds}-fold cross-validation, {result['rows']:,} customers (mean ± std over the folds; "
                       "pooled: on every customer's out-of-fold score)")
    grid.add_column("model")
    for metric in METRICS:
        grid.add_column(metric, justify="right")
    for model, scores in result["models"].items():
        grid.add_row(model, *[f"{scores[m]['mean']:.4f} ± {scores[m]['std']:.4f}" for m in METRICS])
    for model, scores in result["models"].items():
        grid.add_row(f"{model} pooled", *[f"{scores[m]['pooled']:.4f}" for m in METRICS])
    from rich.console import Console

    Console().print(grid)
    if json_out:
        json_out.write_text(json.dumps(jsonable(result), indent=2))
        typer.echo(f"wrote {json_out}")


def _rolling(data: str, spec: object, config: object, *, table: str | None, query: str | None,
             json_out: Path | None) -> None:
    """`insight evaluate --time`: the rolling-origin table (one row per origin and model, then the mean ± std
    over the origins) and the JSON."""
    import json

    from rich.console import Console
    from rich.table import Table

    from insight.data.sources import read_table
    from insight.models.evaluate import METRICS
    from insight.models.rolling import rolling_origin
    from insight.runs.run import jsonable

    try:
        frame = read_table(data, table=table, query=query)
        with progress() as report:
            result = rolling_origin(frame, spec, config, progress=report)  # type: ignore[arg-type]
    except InputError as e:
        fail(str(e))
    origins = result["origins"]
    grid = Table(title=f"Rolling-origin evaluation on {result['time_column']!r}: {len(origins)} origin"
                       f"{'s' if len(origins) != 1 else ''} (train on "
                       "the labelled snapshots up to one, test on the next)")
    for name in ("trained through", "tested on", "rows", "model"):
        grid.add_column(name, justify="right" if name == "rows" else "left")
    for metric in METRICS:
        grid.add_column(metric, justify="right")
    for origin in origins:
        for k, (model, scores) in enumerate(origin["models"].items()):
            first = k == 0
            grid.add_row(origin["train_through"] if first else "", origin["test_snapshot"] if first else "",
                         f"{origin['rows']:,}" if first else "", model, *[f"{scores[m]:.4f}" for m in METRICS],
                         end_section=k == len(origin["models"]) - 1)
    for model, scores in result["models"].items():
        grid.add_row("mean ± std", "", "", model,
                     *[f"{scores[m]['mean']:.4f} ± {scores[m]['std']:.4f}" for m in METRICS])
    Console().print(grid)
    for skip in result["skipped"]:
        typer.echo(f"skipped {skip['train_through']} -> {skip['test_snapshot']}: {skip['reason']}", err=True)
    if json_out:
        json_out.write_text(json.dumps(jsonable(result), indent=2))
        typer.echo(f"wrote {json_out}")


SURVIVAL_COLUMNS = ("concordance", "harrell_concordance", "integrated_brier")


def _survival(data: str, spec: object, *, folds: int, seed: int, table: str | None, query: str | None,
              json_out: Path | None) -> None:
    """`insight evaluate --duration`: the survival models' table (mean ± std over the folds) and the JSON."""
    import json

    from rich.console import Console
    from rich.table import Table

    from insight.data.sources import read_table
    from insight.runs.run import jsonable
    from insight.survival.table_evaluation import survival_cross_validation

    try:
        frame = read_table(data, table=table, query=query)
        with progress() as report:
            report("cross-validating the survival models", 0.0)
            result = survival_cross_validation(frame, spec, folds=folds, seed=seed)  # type: ignore[arg-type]
            report("cross-validating the survival models", 1.0)
    except InputError as e:
        fail(str(e))
    setup = result["survival"]
    extra = [k for k in result["models"]["survival"] if k.startswith(("brier_", "calibration_error_"))]
    grid = Table(title=f"{folds}-fold cross-validation of when customers leave, {result['customers']:,} customers "
                       f"({result['events']:,} churned), duration {setup['duration_column']!r} in "
                       f"{setup['unit']} (mean ± std over the folds)")
    grid.add_column("metric")
    for model in result["models"]:  # one column per model: the table stays narrow with many horizons
        grid.add_column(model, justify="right")
    for metric in (*SURVIVAL_COLUMNS, *extra):
        grid.add_row(metric, *[f"{scores[metric]['mean']:.4f} ± {scores[metric]['std']:.4f}"
                               for scores in result["models"].values()])
    Console().print(grid)
    if setup["left_out"]:
        typer.echo("left out of the survival models: " + "; ".join(f"{k} ({v})" for k, v in setup["left_out"].items()))
    if json_out:
        json_out.write_text(json.dumps(jsonable(result), indent=2))
        typer.echo(f"wrote {json_out}")
