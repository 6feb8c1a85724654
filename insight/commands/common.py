"""What every `insight` command shares: the common options, `fail` (an error line and an exit status),
the progress bar, logging and the engine checks. The commands live in insight.cli and insight.commands.*."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from insight.errors import InputError

def checked_runs_dir(value: Path | None) -> Path | None:
    """--runs-dir (else $INSIGHT_RUNS_DIR, else ./runs) checked before any command starts: a file or a path
    under a file is an error (exit 2)."""
    from insight.runs.run import resolve_runs_dir

    try:
        resolve_runs_dir(value)
    except InputError as e:
        fail(str(e))
    return value


RunsDir = Annotated[Path | None, typer.Option("--runs-dir", help="Where runs live (default: $INSIGHT_RUNS_DIR "
                                                                 "or ./runs).", callback=checked_runs_dir)]
log = logging.getLogger("insight")
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Address of an existing Dask scheduler "
                                                                  "(tcp://host:8786); default: a LocalCluster.")]
Workers = Annotated[int, typer.Option("--workers", help="LocalCluster worker processes (one thread each).")]
TimeColumn = Annotated[str | None, typer.Option("--time", help="The snapshot date column of a table of periodic "
                                                                 "snapshots (one row per customer per date): "
                                                                 "test out of time on the latest labelled "
                                                                 "snapshot; never a feature.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="With --time: leave out the snapshots after this date "
                                                          "(YYYY-MM-DD); default: every snapshot.")]
Duration = Annotated[str | None, typer.Option("--duration", help="The column holding how long each customer "
                                                                 "has been observed (tenure): also train a "
                                                                 "survival model of when customers leave, with "
                                                                 "the target as the event.")]
DurationUnit = Annotated[str | None, typer.Option("--duration-unit", help="With --duration: days, weeks, months "
                                                                          "or years (default: from the column's "
                                                                          "name, else months).")]
Horizons = Annotated[str | None, typer.Option("--horizons", help="With --duration: the horizons of the "
                                                                 "churn-within and lifetime figures, in the "
                                                                 "duration's unit, comma-separated (default: "
                                                                 "30, 90 and 365 days in that unit).")]
PeriodValue = Annotated[str | None, typer.Option("--period-value", help="With --duration: the column of a "
                                                                        "customer's value per unit of the "
                                                                        "duration (monthly charges), for the "
                                                                        "value lost (default: a column named "
                                                                        "like it, e.g. MonthlyCharges).")]
Treatment = Annotated[str | None, typer.Option("--treatment", help="A past retention campaign's 0/1 treatment "
                                                                   "column (randomised): also train an uplift "
                                                                   "model of whom the offer moves; never a "
                                                                   "feature.")]
Propensity = Annotated[str | None, typer.Option("--propensity", help="With --treatment: each customer's "
                                                                     "probability of having been treated, when "
                                                                     "it was not the same for everyone.")]
KEEP_HELP = ("Keep a column a guard would drop (repeatable). With --aux on the same column: a present-state "
             "value (known when a customer is scored, e.g. tenure) that the churn models use as a feature and "
             "the multi-task network learns as a target only.")



class progress:
    """A rich progress bar on stderr fed by the pipeline's progress callback."""

    def __enter__(self):  # noqa: ANN204
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description:<32}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                            TimeElapsedColumn(), transient=False, console=console())
        self.bar.start()
        self.task = self.bar.add_task("starting", total=1.0)
        return self.report

    def report(self, stage: str, done: float) -> None:
        self.bar.update(self.task, description=stage, completed=done)

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:  # a failed run: leave only the error line, not a half-drawn bar
            self.bar.live.transient = True
        self.bar.stop()



def console():  # noqa: ANN202
    from rich.console import Console

    return Console(stderr=True)


def setup_logging(level: int) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=console(), show_time=False, show_path=False, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    logging.getLogger("insight").setLevel(level)  # a host (the dashboard) may have set its own level


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)



def survival_options(duration: str | None, unit: str | None, horizons: str | None,
                     period_value: str | None) -> dict[str, Any]:
    """--duration and its options as DataSpec fields (exit 2 when an option needs --duration or a horizon is
    not a positive number)."""
    from insight.survival.hazard import HORIZONS_BY_UNIT

    if not duration:
        given = [name for name, value in (("--duration-unit", unit), ("--horizons", horizons),
                                          ("--period-value", period_value)) if value]
        if given:
            fail(f"{', '.join(given)} needs --duration COL (the column of how long each customer has been observed).")
        return {}
    if unit and unit not in HORIZONS_BY_UNIT:
        fail(f"--duration-unit {unit!r} is not a unit: use one of {', '.join(HORIZONS_BY_UNIT)}.")
    parsed: tuple[float, ...] = ()
    if horizons:
        try:
            parsed = tuple(float(h) for h in horizons.split(",") if h.strip())
        except ValueError:
            fail(f"--horizons {horizons!r} is not a comma-separated list of numbers (e.g. 1,3,12).")
        if not parsed or any(not h > 0 or h == float("inf") for h in parsed):
            fail(f"--horizons {horizons!r}: give positive numbers in the duration's unit (e.g. 1,3,12).")
    return {"duration_column": duration, "duration_unit": unit, "horizons": parsed,
            "period_value_column": period_value}


def check_as_of(time_column: str | None, as_of: str | None) -> str | None:
    """--as-of as an ISO date (exit 2 when it is not a date, or is given without --time)."""
    from insight.data.snapshots import iso, parse_date

    if as_of is None:
        return None
    if not time_column:
        fail("--as-of needs --time COL (the snapshot date column).")
    try:
        return iso(parse_date(as_of))
    except InputError as e:
        fail(str(e))


def check_engine(engine: str, scheduler: str | None, workers: int) -> None:
    from insight.batch.scoring import ENGINES

    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if workers < 1:
        fail("--workers must be at least 1.")
    if scheduler and engine != "dask":
        fail("--scheduler needs --engine dask.")


def quiet_dask() -> None:
    """Dask's INFO lines and slow-shutdown warnings drown the progress; -v shows them."""
    import distributed  # it sets its loggers' levels on import: set them after

    logging.getLogger(distributed.__name__).setLevel(logging.INFO if log.getEffectiveLevel() <= logging.INFO
                                                     else logging.ERROR)
