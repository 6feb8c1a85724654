"""The `insight` command: demo-data, train, demo, serve, evaluate, score, compare, report, runs."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from insight.commands import compare, evaluate, report, score
from insight.commands.common import KEEP_HELP, RunsDir, Scheduler, Workers, fail as _fail, progress as _progress
from insight.commands.common import AsOf, TimeColumn, check_engine as _check_engine, quiet_dask as _quiet_dask
from insight.commands.common import check_as_of as _check_as_of, setup_logging
from insight.commands.common import Duration, DurationUnit, Horizons, PeriodValue, Propensity, Treatment
from insight.commands.common import survival_options as _survival_options
from insight.errors import InputError, RunError

if TYPE_CHECKING:
    from insight.config import DataSpec

app = typer.Typer(help="Churn risk, SHAP explanations and customer segments from a customer table.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
runs_app = typer.Typer(help="List and verify training runs.", no_args_is_help=True)
log = logging.getLogger("insight")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False) -> None:
    setup_logging(logging.INFO if verbose else logging.WARNING)


@app.command("demo-data")
def demo_data_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for customers.csv and truth.csv.")],
    rows: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    months: Annotated[int | None, typer.Option("--months", help="Monthly snapshots instead of one: customers.csv "
                                                                "gets a snapshot_date column (one row per active "
                                                                "customer per month end; the latest month "
                                                                "unlabelled) and changes.json lists the changes "
                                                                "planted part-way.")] = None,
    survival: Annotated[bool, typer.Option("--survival", help="Current and former customers with a planted time "
                                                              "to churn per segment, censored at the snapshot: "
                                                              "customers.csv gets tenure_months (train with "
                                                              "--duration tenure_months) and truth.csv each "
                                                              "customer's true Weibull law.")] = False,
    campaign: Annotated[bool, typer.Option("--campaign", help="Add a past randomised retention campaign: "
                                                              "customers.csv gets retention_offer (0/1) and "
                                                              "truth.csv each customer's true uplift (combines "
                                                              "with --survival).")] = False,
) -> None:
    """Write synthetic demo customers (customers.csv) and their planted truth (truth.csv)."""
    from insight.data.demo import write_demo_data
    from insight.data.demo_history import MAX_MONTHS, MIN_MONTHS, write_demo_history

    if rows < 100:
        _fail("--rows must be at least 100.")
    if survival and months is not None:
        _fail("--survival and --months cannot be combined: --survival writes one snapshot of current and former "
              "customers; leave one of them out.")
    if campaign and months is not None:
        _fail("--campaign with --months is not yet supported: the campaign is planted on one snapshot; leave "
              "--months out.")
    if campaign:
        from insight.data.demo_campaign import TREATMENT, write_demo_campaign_data

        customers, truth = write_demo_campaign_data(out, rows=rows, seed=seed, survival=survival)
        typer.echo(f"wrote {customers} and {truth} ({rows:,} {'current and former ' if survival else ''}customers, "
                   f"seed {seed}; treatment {TREATMENT})")
        return
    if survival:
        from insight.data.demo_survival import DURATION, write_demo_survival_data

        customers, truth = write_demo_survival_data(out, rows=rows, seed=seed)
        typer.echo(f"wrote {customers} and {truth} ({rows:,} current and former customers, seed {seed}; "
                   f"duration {DURATION})")
        return
    if months is not None:
        if not MIN_MONTHS <= months <= MAX_MONTHS:
            _fail(f"--months must be between {MIN_MONTHS} and {MAX_MONTHS} (one snapshot per month end); leave "
                  "it out for one snapshot.")
        customers, truth, changes = write_demo_history(out, rows=rows, months=months, seed=seed)
        typer.echo(f"wrote {customers}, {truth} and {changes} ({months} monthly snapshots of about {rows:,} "
                   f"customers, seed {seed})")
        return
    customers, truth = write_demo_data(out, rows=rows, seed=seed)
    typer.echo(f"wrote {customers} and {truth} ({rows:,} customers, seed {seed})")


@app.command("train")
def train_command(
    data: Annotated[str, typer.Argument(help="A CSV or Parquet file, a folder of Parquet files, or "
                                             "sqlite:///file.db / duckdb:///file.duckdb with --table/--query.")],
    id_column: Annotated[str, typer.Option("--id", help="The customer id column.")],
    target: Annotated[str, typer.Option("--target", help="The churn column (0/1, yes/no, true/false).")],
    aux: Annotated[list[str] | None, typer.Option("--aux", help="An auxiliary target for the multi-task network "
                                                               "(repeatable); not a feature unless also given "
                                                               "as --keep.")] = None,
    runs_dir: RunsDir = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help=KEEP_HELP)] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Never use this column.")] = None,
    actionable: Annotated[list[str] | None, typer.Option("--actionable", help="A feature the business can "
                                                                             "change (what-if suggestions).")] = None,
    positive: Annotated[str | None, typer.Option("--positive", help="The target value that means churned.")] = None,
    revenue: Annotated[str | None, typer.Option("--revenue", help="The column with a customer's value, for "
                                                                 "revenue at risk (default: a money-like "
                                                                 "aux target).")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Database table to read.")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL query to read.")] = None,
    truth: Annotated[Path | None, typer.Option("--truth", help="CSV of planted segments (id, segment) to report "
                                                              "recovery against; default: truth.csv beside "
                                                              "DATA when it exists.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    engine: Annotated[str, typer.Option("--engine", help="local: in this process; dask: read DATA as Dask "
                                                         "partitions, fit the churn model with lightgbm.dask "
                                                         "on every labelled training row and the rest on a "
                                                         "sample, score every customer on the "
                                                         "cluster.")] = "local",
    scheduler: Scheduler = None,
    workers: Workers = 2,
    sample_rows: Annotated[int, typer.Option("--sample-rows", help="--engine dask: at most this many rows, "
                                                                   "drawn across partitions, for the schema, "
                                                                   "feature map, tree-size search, multi-task "
                                                                   "network and map.")] = 200_000,
    time_column: TimeColumn = None,
    as_of: AsOf = None,
    duration: Duration = None,
    duration_unit: DurationUnit = None,
    horizons: Horizons = None,
    period_value: PeriodValue = None,
    treatment: Treatment = None,
    propensity: Propensity = None,
) -> None:
    """Train the churn model, SHAP explanations, multi-task network and segments; write one run.

    With --engine dask, DATA is read as Dask partitions (the files of a Parquet folder, else one partition)
    on a Dask cluster; the workers must see DATA at the same path.

    With --time, DATA holds periodic snapshots (one row per customer per snapshot date): the model trains on
    the labelled snapshots before the latest labelled one, L, and is tested out of time on L (beside the
    random split among the training snapshots); the run's customers are those of the latest snapshot.

    With --duration, a survival model (a discrete-time hazard model on LightGBM, with exact SHAP) learns when
    customers leave, the target being the event: per customer the chance of leaving within each horizon, the
    expected remaining lifetime and the value lost, tested against Cox PH and Kaplan-Meier.

    With --treatment (a past campaign's 0/1 flag, randomised or with --propensity), an uplift model (T-, X- or
    DR-learner on LightGBM, chosen by held-out Qini) estimates per customer how much the offer reduces the
    chance of churning.
    """
    from insight.config import DataSpec

    _check_engine(engine, scheduler, workers)
    as_of = _check_as_of(time_column, as_of)
    survival = _survival_options(duration, duration_unit, horizons, period_value)
    if time_column and engine == "dask":
        _fail("--time is not supported yet with --engine dask; train with --engine local.")
    if duration and engine == "dask":
        _fail("--duration is not supported yet with --engine dask; train with --engine local.")
    if propensity and not treatment:
        _fail("--propensity needs --treatment COL (the campaign's 0/1 column).")
    if treatment and (engine == "dask" or time_column):
        _fail("--treatment is not supported yet with --engine dask or --time; train on one snapshot locally.")
    if duration and time_column:
        _fail("--duration with --time is not supported yet: train the survival model on one snapshot (the "
              "latest) without --time.")
    spec = DataSpec(id_column=id_column, target=target, aux_targets=tuple(aux or ()), keep=tuple(keep or ()),
                    exclude=tuple(exclude or ()), actionable=tuple(actionable or ()), positive_label=positive,
                    revenue_column=revenue, time_column=time_column, treatment_column=treatment,
                    propensity_column=propensity, **survival)
    if engine == "dask":
        path = _train_on_dask(data, spec, runs_dir=runs_dir, table=table, query=query, truth=truth, seed=seed,
                              scheduler=scheduler, workers=workers, sample_rows=sample_rows)
    else:
        path = _train(data, spec, runs_dir=runs_dir, table=table, query=query, truth=truth, seed=seed,
                      as_of=as_of)
    typer.echo(path.name)


@app.command("demo")
def demo_command(
    rows: Annotated[int, typer.Option(help="Number of demo customers.")] = 20_000,
    runs_dir: RunsDir = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where to write the demo data.")] = Path("demo-data"),
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Train only when --runs-dir holds no run "
                                                                  "yet.")] = False,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the dashboard afterwards.")] = True,
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8501,
    host: Host = "127.0.0.1",
    no_auth: NoAuth = False,
    secrets: Secrets = None,
    survival: Annotated[bool, typer.Option("--survival", help="The demo's current and former customers with a "
                                                              "planted time to churn (demo-data --survival), "
                                                              "trained with --duration tenure_months: the "
                                                              "dashboard's time-to-churn figures.")] = False,
) -> None:
    """Generate the demo data, train on it (churn plus both auxiliary targets) and open the dashboard."""
    import dataclasses

    from insight.data.demo import demo_spec, write_demo_data
    from insight.data.demo_survival import write_demo_survival_data
    from insight.runs.run import latest_run, resolve_runs_dir

    if serve:  # refuse an unsafe --host before training, not after
        _serving_plan(host, port, no_auth=no_auth, secrets=secrets)
    existing = latest_run(resolve_runs_dir(runs_dir))
    if if_missing and existing is not None:
        typer.echo(f"using the existing run {existing.name}")
    else:
        write = write_demo_survival_data if survival else write_demo_data
        customers, truth = write(data_dir, rows=rows, seed=0)
        typer.echo(f"demo data: {customers}")
        spec = dataclasses.replace(demo_spec(), duration_column="tenure_months") if survival else demo_spec()
        path = _train(str(customers), spec, runs_dir=runs_dir, truth=truth, seed=0)
        typer.echo(path.name)
    if serve:
        _serve(runs_dir, port, host=host, no_auth=no_auth, secrets=secrets)


Host = Annotated[str, typer.Option("--host", help="Address to listen on. 127.0.0.1 (default): this machine "
                                                  "only; any other address needs sign-in (or --no-auth).")]
NoAuth = Annotated[bool, typer.Option("--no-auth", help="Serve beyond this machine without sign-in (everyone "
                                                        "is an analyst). Unsafe: anyone who can reach the "
                                                        "address sees every customer.")]
Secrets = Annotated[Path | None, typer.Option("--secrets", help="Streamlit secrets file with the sign-in "
                                                                "settings (\\[auth], \\[insight.access]); default: "
                                                                "Streamlit's own locations.")]


@app.command("serve")
def serve_command(runs_dir: RunsDir = None,
                  port: Annotated[int, typer.Option(help="Dashboard port.")] = 8501,
                  host: Host = "127.0.0.1",
                  no_auth: NoAuth = False,
                  secrets: Secrets = None,
                  address: Annotated[str | None, typer.Option("--address", hidden=True)] = None) -> None:
    """Start the dashboard on the runs in --runs-dir (the dashboard's files come with the installed package).

    Sign-in (OIDC, Streamlit's st.login) and who may come in as viewer or analyst: the README's "Sign-in"."""
    _serve(runs_dir, port, host=address or host, no_auth=no_auth, secrets=secrets)


@runs_app.command("list")
def runs_list(runs_dir: RunsDir = None) -> None:
    """Every run, newest first, with its data, size and held-out ROC AUC."""
    from insight.runs.run import latest_run, list_runs, read_manifest, resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    found = list_runs(directory)
    if not found:
        typer.echo(f"no runs in {directory}; train one with `insight train` or `insight demo`.")
        return
    latest = latest_run(directory)
    for path in found:
        try:
            m = read_manifest(path)
            auc = m.test_metrics["roc_auc"]
            line = f"{path.name}  {m.source.name}  {m.source.rows:,} rows  ROC AUC {auc:.3f}"
            late = m.metrics.get("lightgbm", {}).get("out_of_time")
            if late:  # trained with --time
                line += f", out of time {late['roc_auc']:.3f} ({late['snapshot']})"
            timing = m.survival_metrics.get("test", {}).get("survival")
            if timing:  # trained with --duration
                line += f", time to churn C {timing['concordance']:.3f} ({m.survival['duration_column']})"
        except (KeyError, ValueError, TypeError, OSError, RunError):
            line = f"{path.name}  (unreadable manifest: `insight runs verify {path.name}` says why)"
        typer.echo(("* " if path == latest else "  ") + line)


@runs_app.command("verify")
def runs_verify(run: Annotated[str, typer.Argument(help="Run id, id prefix, folder, or 'latest'.")] = "latest",
                runs_dir: RunsDir = None) -> None:
    """Check a run against its manifest: every file's checksum and size, the manifest's own checksum, no file
    the manifest does not list, and with INSIGHT_SIGNING_KEY set its signature (exit 1 on any problem, one
    line each)."""
    from insight.runs.integrity import SIGNING_KEY_ENV, signing_key, verify_report
    from insight.runs.run import find_run, resolve_runs_dir

    try:
        path = find_run(resolve_runs_dir(runs_dir), run)
    except RunError as e:
        _fail(str(e), code=1)
    report = verify_report(path)
    if report.problems:
        for p in report.problems:
            typer.echo(f"FAIL {path.name}: {p}", err=True)
        for note in report.notes:
            typer.echo(f"note {path.name}: {note}", err=True)
        raise typer.Exit(1)
    signed = f"; signature checked with {SIGNING_KEY_ENV}" if signing_key() else ""
    typer.echo(f"OK {path.name}: every file matches its checksum{signed}"
               + "".join(f"; {note}" for note in report.notes))


def _train(data: str, spec: DataSpec, *, runs_dir: Path | None, seed: int, truth: Path | None = None,
           table: str | None = None, query: str | None = None, as_of: str | None = None) -> Path:
    from insight.config import TrainConfig
    from insight.data.sources import read_table
    from insight.pipeline import train

    try:
        frame = read_table(data, table=table, query=query)
        truth_frame = _read_truth(data, truth)
        if not spec.actionable:  # the demo data's levers, when this is a table with the demo's columns
            from insight.data.demo import default_actionable

            spec = dataclasses.replace(spec, actionable=default_actionable(frame.columns))
        with _progress() as report:
            return train(frame, spec, TrainConfig(seed=seed, as_of=as_of), runs_dir=runs_dir,
                         source_name=_source_name(data, table, query),
                         truth=truth_frame, progress=report)
    except InputError as e:
        _fail(str(e))
    raise AssertionError("unreachable")


def _train_on_dask(data: str, spec: DataSpec, *, runs_dir: Path | None, seed: int, truth: Path | None,
                   table: str | None, query: str | None, scheduler: str | None, workers: int,
                   sample_rows: int) -> Path:
    from insight.batch.dask_train import train_on_dask
    from insight.config import TrainConfig
    from insight.data.sources import open_source
    from insight.runs.run import resolve_runs_dir

    _quiet_dask()
    try:
        truth_frame = _read_truth(data, truth)
        if not spec.actionable:  # the demo data's levers, when this is a table with the demo's columns
            from insight.data.demo import default_actionable

            columns = open_source(data, table=table, query=query).columns()
            spec = dataclasses.replace(spec, actionable=default_actionable(columns))
        with _progress() as report:
            return train_on_dask(data, spec, TrainConfig(seed=seed), runs_dir=resolve_runs_dir(runs_dir),
                                 table=table, query=query, source_name=_source_name(data, table, query),
                                 truth=truth_frame,  # type: ignore[arg-type]
                                 scheduler=scheduler, workers=workers, sample_rows=sample_rows, progress=report)
    except InputError as e:
        _fail(str(e))
    raise AssertionError("unreachable")


def _source_name(data: str, table: str | None, query: str | None) -> str:
    """The manifest's source.name: a file's name; a database server's URL with its password masked."""
    from insight.data.sources import open_source
    from insight.data.warehouse import is_warehouse_url

    return open_source(data, table=table, query=query).name if is_warehouse_url(data) else Path(data).name


def _read_truth(data: str, truth: Path | None) -> object:
    from insight.data.sources import read_table
    from insight.data.warehouse import is_database_url

    candidate = truth or (Path(data).parent / "truth.csv" if not is_database_url(data) else None)
    if candidate is None or not candidate.exists():
        if truth is not None:
            raise InputError(f"--truth {truth}: no such file.")
        return None
    frame = read_table(candidate)
    log.info("reporting segment recovery against %s (never used as input)", candidate)
    return frame


def _serve(runs_dir: Path | None, port: int, *, host: str = "127.0.0.1", no_auth: bool = False,
           secrets: Path | None = None) -> None:
    """`streamlit run` on the installed package's app.py (insight.appfiles), which also brings its pages,
    assets and the .streamlit/config.toml beside it; the runs folder travels as an absolute path. Refused
    first (exit 2) where `_serving_plan` says so."""
    from insight.runs.run import resolve_runs_dir

    plan = _serving_plan(host, port, no_auth=no_auth, secrets=secrets)
    for warning in plan.warnings:
        typer.secho(warning, err=True, fg="red" if warning.startswith("WARNING") else "yellow", bold=True)
    env = {**os.environ, **plan.env, "INSIGHT_RUNS_DIR": str(resolve_runs_dir(runs_dir).resolve())}
    log.info("serving %s on runs in %s (sign-in %s)", plan.app, env["INSIGHT_RUNS_DIR"], plan.signin)
    typer.echo(f"dashboard: {plan.url}")
    subprocess.run([sys.executable, "-m", "streamlit", "run", *plan.streamlit_args,
                    "--browser.gatherUsageStats", "false"], env=env, check=False)


def _serving_plan(host: str, port: int, *, no_auth: bool, secrets: Path | None):  # noqa: ANN202
    """insight.access_config.serving_plan: beyond the loopback interface only with sign-in or --no-auth;
    bad sign-in settings, empty allow-lists and a missing dashboard exit 2 (1) with what to do."""
    from insight.access_config import serving_plan

    try:
        return serving_plan(host, port, no_auth=no_auth, secrets_file=secrets)
    except InputError as e:
        _fail(str(e))
    except FileNotFoundError as e:
        _fail(str(e), code=1)


# Commands that live in insight.commands.*, listed after train, demo-data, demo and serve.
app.command("evaluate")(evaluate.evaluate_command)
app.command("score")(score.score_command)
app.command("compare")(compare.compare_command)
app.command("report")(report.report_command)
app.add_typer(runs_app, name="runs")


def main() -> None:
    app()
