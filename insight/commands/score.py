"""`insight score`: score customers with a saved run."""

from __future__ import annotations

from typing import Annotated

import typer

from insight.commands.common import RunsDir, Scheduler, Workers, check_engine, fail, progress, quiet_dask
from insight.errors import InputError, RunError


def score_command(
    run: Annotated[str, typer.Argument(help="Run id, id prefix, folder, or 'latest'.")],
    data: Annotated[str, typer.Argument(help="A Parquet file, a folder of Parquet files (one partition each), a "
                                             "CSV file, or a database URL with --table/--query or ?table=NAME "
                                             "(a server's table in chunks of $INSIGHT_SQL_CHUNK_ROWS).")],
    out: Annotated[str, typer.Option("--out", help="Folder for the scores (part.<i>.parquet per input "
                                                   "partition), or a database URL with ?table=NAME to upsert "
                                                   "them into by customer id.")],
    engine: Annotated[str, typer.Option("--engine", help="local: partition by partition in this process; "
                                                         "dask: on a Dask cluster.")] = "local",
    scheduler: Scheduler = None,
    workers: Workers = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a previous score output in --out (only a "
                                                                "folder `insight score` wrote).")] = False,
    table: Annotated[str | None, typer.Option("--table", help="Database table to score.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL query whose rows to score.")] = None,
    runs_dir: RunsDir = None,
    labels: Annotated[str | None, typer.Option("--labels", help="Column of DATA with the batch's churn outcomes "
                                                                "(the values the run's target had): the "
                                                                "realised performance is recorded beside the "
                                                                "estimate.")] = None,
) -> None:
    """Score customers with a saved run: churn probability, risk band, reasons, latent, segment, map position.

    Writes one Parquet file per input partition into --out with the columns: the run's id column,
    churn_probability, risk_band, reason_1..reason_3, segment_id, segment_name, x, y, z0..zK (the latent).
    Both engines give identical results for the same partitions. The run's checksums are verified first;
    the output is written to a temporary folder and renamed into place when complete, with its
    _insight_scores.json (run id, time, parts). --out is never the runs folder, a run or inside one, and
    --overwrite replaces only a folder that holds nothing but a previous score output. With --scheduler,
    the workers must see the run, DATA and --out at the same paths.

    --out postgresql://USER@HOST/DB?table=NAME (any SQLAlchemy URL) upserts one row per customer instead: the id,
    churn_probability, risk_band, reason_1..reason_3, segment_id, segment_name, run_id and scored_at, in one
    transaction (a failed write leaves the table as it was); a missing table is created with the id as its
    primary key. Passwords come from the URL or the driver's environment (PGPASSWORD, ~/.pgpass) and are never
    shown.

    Input: the id column and every feature column the run was trained on must be present (extra columns
    are ignored; a column may be empty). Blank values are missing. A value that cannot be read as its
    column's type (a number, yes/no, a date) is an error naming the column and an example. Categories not
    seen in training are scored as "Other" when training pooled rare categories into "Other", else as
    missing, and are counted in a warning. Errors in the input exit with status 2; a damaged run with 1.

    Every batch reports on itself: _monitoring.json beside the parts (listed in the marker) holds the drift of
    every feature against the run's training customers and the performance estimated without labels from
    the calibrated probabilities (expected ROC AUC, precision and recall at the Targeting page's default cut,
    expected churn rate); with --labels COL, the realised figures beside them. A summary is appended to the
    runs folder's .batches/<run id>/ (the Model page's timeline). A --labels column that DATA lacks or whose
    values are not the run's churn values exits with status 2.
    """
    from insight.batch.scoring import score_dataset
    from insight.data.warehouse import masked_url
    from insight.runs.run import find_run, resolve_runs_dir

    check_engine(engine, scheduler, workers)
    directory = resolve_runs_dir(runs_dir)
    try:
        path = find_run(directory, run)
    except RunError as e:
        fail(str(e), code=1)
    if engine == "dask":
        quiet_dask()
    typer.echo(f"scoring {masked_url(data)} with run {path.name} ({engine} engine)", err=True)
    try:
        with progress() as report:
            result = score_dataset(path, data, out, table=table, query=query, engine=engine,
                                   scheduler=scheduler, workers=workers, overwrite=overwrite, runs_dir=directory,
                                   progress=report, labels=labels)
    except InputError as e:
        fail(str(e))
    except RunError as e:
        fail(str(e), code=1)
    typer.echo(f"scored {result.rows:,} customers in {result.partitions} partition(s) into {result.out} "
               f"({result.engine}, {result.seconds:.1f} s)")
    if result.monitoring is not None:
        from insight.monitoring.report import describe

        typer.echo(describe(result.monitoring))
