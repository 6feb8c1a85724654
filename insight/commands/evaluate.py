"""`insight evaluate`: cross-validate the whole training recipe on a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insight.commands.common import KEEP_HELP, fail, progress
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
) -> None:
    """Cross-validate the whole training recipe: LightGBM, the multi-task churn head and a logistic baseline."""
    import json

    from insight.config import DataSpec, TrainConfig
    from insight.models.evaluate import METRICS, cross_validate
    from insight.data.sources import read_table
    from insight.runs.run import jsonable

    if folds < 2:
        fail("--folds must be at least 2.")
    spec = DataSpec(id_column=id_column, target=target, aux_targets=tuple(aux or ()), keep=tuple(keep or ()),
                    exclude=tuple(exclude or ()), positive_label=positive)
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
