"""`insight compare RUN_A RUN_B`: what changed from an earlier run to a newer one (insight.changes.compare)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from insight.commands.common import RunsDir, fail
from insight.errors import InputError, RunError

TOP_DRIFT = 10
TOP_TRANSITIONS = 8
TOP_HIGH = 10
NEW_SHARE = 0.01
"""A drifted category column whose new categories hold at least this share shows the largest of them."""


def compare_command(
    run_a: Annotated[str, typer.Argument(help="The earlier run (the reference): id, id prefix, folder, or "
                                              "'latest'.")],
    run_b: Annotated[str, typer.Argument(help="The newer run: id, id prefix, folder, or 'latest'.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the whole comparison as JSON here.")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """What changed from run A (earlier) to run B (newer): metrics, drift, risk, drivers, segments.

    Model metrics side by side, feature drift per column (population stability index with a Kolmogorov-Smirnov or chi-squared test, Benjamini-Hochberg
    corrected) worst first, the shift in predicted risk, the change in global drivers, segment migration of
    the customers in both runs and the customers who became high-risk.

    Both runs' checksums are verified first: a damaged run exits with status 1; runs that cannot be compared,
    with different id columns or no feature in common, exit with 2. --json holds everything: the keys runs,
    metrics, feature_drift, risk_shift, drivers, segment_transitions, became_high_risk and notes."""
    import json

    from insight.changes.compare import compare_runs
    from insight.runs.run import find_run, resolve_runs_dir

    directory = resolve_runs_dir(runs_dir)
    try:
        path_a, path_b = find_run(directory, run_a), find_run(directory, run_b)
    except RunError as e:
        fail(str(e), code=1)
    if json_out is not None and json_out.is_dir():
        fail(f"--json {json_out} is a folder; give a file name, e.g. {json_out / 'compare.json'}.")
    typer.echo(f"comparing run {path_a.name} (A) with {path_b.name} (B)", err=True)
    try:
        result = compare_runs(path_a, path_b)
    except InputError as e:
        fail(str(e))
    except RunError as e:
        fail(str(e), code=1)
    print_summary(result)
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(result, indent=2, allow_nan=False))
        except OSError as e:
            fail(f"cannot write --json {json_out}: {e.strerror or e}; give a file in a folder you can write to.")
        typer.echo(f"wrote {json_out}")


def print_summary(result: dict[str, Any]) -> None:
    """The comparison as a few rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    a, b = result["runs"]["a"], result["runs"]["b"]
    runs = Table(title="Runs")
    for name in ("", "A (earlier)", "B (newer)"):
        runs.add_column(name)
    for key in ("id", "created", "source", "customers", "as_of", "snapshot", "segments"):
        if key in a or key in b:
            runs.add_row(key.replace("_", " "), _text(a.get(key)), _text(b.get(key)))
    out.print(runs)

    metrics = Table(title="Churn model (LightGBM)")
    for name, justify in (("scope", "left"), ("metric", "left"), ("A", "right"), ("B", "right"),
                          ("change", "right")):
        metrics.add_column(name, justify=justify)
    for row in result["metrics"]["rows"]:
        metrics.add_row(row["scope"].replace("_", " "), row["label"], _num(row["a"]), _num(row["b"]),
                        _num(row["change"], signed=True))
    out.print(metrics)

    drift = Table(title=f"Feature drift, worst first ({result['drift_method']['flagged']} of "
                        f"{len(result['feature_drift'])} flagged: KS or chi-squared test, "
                        f"{result['drift_method']['correction']}-adjusted p)")
    for name, justify in (("feature", "left"), ("PSI", "right"), ("p adj.", "right"), ("A", "right"),
                          ("B", "right"), ("drift", "left")):
        drift.add_column(name, justify=justify, no_wrap=name == "feature")
    for d in result["feature_drift"][:TOP_DRIFT]:
        drift.add_row(d["feature"], f"{d['psi']:.3f}", _p(d["p_adjusted"]), _typical(d, "reference"),
                      _typical(d, "current"), "yes" if d["drifted"] else "")
    out.print(drift)

    shift = result["risk_shift"]
    mean = shift["mean_probability"]
    both = shift["both"]
    out.print(f"Mean churn probability: A {_pct(mean['a'])}, B {_pct(mean['b'])} "
              f"(change {_pct(mean['change'], signed=True)}).")
    bands = ", ".join(f"{r['band']} {_pct(r['share_a'])} → {_pct(r['share_b'])}" for r in shift["bands"])
    out.print(f"Risk bands (share of customers): {bands}.")
    if both["customers"]:
        out.print(f"{both['customers']:,} customers in both runs: mean change {_pct(both['mean_change'], signed=True)}"
                  f", {both['moved_up']:,} moved up a band, {both['moved_down']:,} down.")

    moves = result["segment_transitions"]
    if moves["transitions"]:
        table = Table(title=f"Segment migration ({moves['customers']:,} customers in both runs; "
                            f"{moves['only_a']:,} only in A, {moves['only_b']:,} only in B)")
        for name, justify in (("from (A)", "left"), ("to (B)", "left"), ("customers", "right")):
            table.add_column(name, justify=justify)
        for t in moves["transitions"][:TOP_TRANSITIONS]:
            table.add_row(f"{t['from_id']}: {t['from_name']}", f"{t['to_id']}: {t['to_name']}",
                          f"{t['customers']:,}")
        out.print(table)

    high = result["became_high_risk"]
    out.print(f"{high['count']:,} customers in both runs became high-risk (band rose into "
              f"{' or '.join(high['bands'])}).")
    for c in high["customers"][:TOP_HIGH]:
        moved = "; ".join(f"{m['feature']} {_text(m['value_a'])} → {_text(m['value_b'])}" for m in c["moved"])
        out.print(f"  {c['id']}: {_pct(c['probability_a'])} → {_pct(c['probability_b'])}  ({moved})")
    for note in result["notes"]:
        out.print(f"note: {note}")


def _typical(d: dict[str, Any], side: str) -> str:
    if d.get(f"{side}_mean") is not None:
        if d.get("value_type") == "date":
            from insight.monitoring.drift import as_date

            return as_date(d[f"{side}_mean"])
        return f"{d[f'{side}_mean']:.4g}"
    new = d.get("new_categories") or []
    if side == "current" and new and (d.get("new_share") or 0) >= NEW_SHARE:
        return f"new {new[0]} {_pct(d['new_share'])}"
    top = d.get(f"{side}_top")
    return "" if top is None else f"{top} {_pct(d.get(f'{side}_top_share'))}"


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _num(value: float | None, *, signed: bool = False) -> str:
    return "–" if value is None else f"{value:+.4f}" if signed else f"{value:.4f}"


def _pct(value: float | None, *, signed: bool = False) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pts" if signed else f"{value:.1%}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"
