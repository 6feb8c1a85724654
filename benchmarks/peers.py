"""From model to dashboard against the tools people use today: `python -m benchmarks peers --rows 100000
[--env DIR] [--json FILE]` (from the project root).

On one demo table (insight.data.demo, seed 0) one insight run is trained (insight.pipeline.train, as
`insight train` does), then four things are measured, each in a child process of its own so that its peak
memory is its own (the child's ru_maxrss from wait4, started from a small launcher: see LAUNCHER):

1. `insight score RUN customers.parquet --out DIR` of the run on the same customers (the local engine): churn
   probability, exact SHAP, reasons, latent, segment and map position; wall seconds of the whole command;
2. the dashboard's cold start on the run: benchmarks/dashboard.py's measure (a fresh Python process runs
   app.py under streamlit.testing's AppTest, as `streamlit run` does, until the first page has rendered),
   seconds from the process's start;
3. explainerdashboard 0.5.8: `ClassifierExplainer(model, X, y, model_output="logodds")` and
   `ExplainerDashboard(explainer, shap_interaction=False)` built (never `.run()`: nothing listens on a port);
4. shapash 2.10: `SmartExplainer(model=model).compile(x=X, y_target=y)`.

The peers run in a separate virtual environment that this benchmark creates once (default
~/.cache/insight-benchmarks/peers-venv; never a project dependency) with the peers, the project's own
LightGBM version and pyarrow; torch (CPU build) is installed first only if the peers' requirements pull it in.
They are given the run's own model and rows: the run's churn_model.txt (LightGBM text) loaded as a Booster and
set into an sklearn LGBMClassifier (benchmarks/peers_child.py), and the same customers encoded as the run's
model matrix (Parquet: one float column per feature, categories as the integer codes the booster was trained
on). Their wall seconds also count from their process's start (imports, reading the model and the rows);
their raw scores and SHAP values are checked against the run's afterwards, outside the timing.

Training the run and installing the peers are timed and printed apart from the measured figures. A peer that
fails to install or run is reported with its error in the table; the benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("peers_child.py")
DEFAULT_ENV = Path.home() / ".cache" / "insight-benchmarks" / "peers-venv"
PEERS = {"explainerdashboard": "explainerdashboard==0.5.8", "shapash": "shapash==2.10.*"}
TORCH = "torch==2.13.0"  # the CPU build (the Makefile's); a bare torch requirement would pull CUDA
MARKER = "insight-peers.json"
INSTALL_TIMEOUT = 1800
MEASURE_TIMEOUT = 3600
TIMED = {
    "insight score": "`insight score RUN customers.parquet --out DIR`: probability, exact SHAP, reasons, segments",
    "insight dashboard": "cold start: python start -> first page rendered (AppTest, as `streamlit run` does)",
    "explainerdashboard": 'python start -> ClassifierExplainer(model_output="logodds") + ExplainerDashboard('
                          'shap_interaction=False) built',
    "shapash": "python start -> SmartExplainer(model).compile(x, y_target)",
}


# --- the peers' environment -------------------------------------------------------------------------------

def requirements() -> list[str]:
    """What the peers' environment holds: the peers, the project's LightGBM version and pyarrow (Parquet)."""
    import lightgbm
    import pyarrow

    return [*PEERS.values(), f"lightgbm=={lightgbm.__version__}", f"pyarrow=={pyarrow.__version__}"]


def env_python(env: Path) -> Path:
    return env / "bin" / "python"


def _pip(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(env_python(env)), "-m", "pip", "--disable-pip-version-check", *args]
    log.info("%s", " ".join(command))
    return subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip() and "is ignored" not in line]
    return " | ".join(kept[-lines:])[-800:]


def installed_versions(env: Path) -> dict[str, str | None]:
    """The distributions that matter, as the environment's own Python reports them."""
    script = ("import json, importlib.metadata as m\n"
              "def v(n):\n"
              "    try: return m.version(n)\n"
              "    except m.PackageNotFoundError: return None\n"
              "print(json.dumps({n: v(n) for n in ('explainerdashboard', 'shapash', 'lightgbm', 'shap', 'pandas',"
              " 'numpy', 'scikit-learn', 'pyarrow', 'dash', 'torch')}))")
    done = subprocess.run([str(env_python(env)), "-c", script], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the peers' environment does not start: {_tail(done.stderr)}")
    return json.loads(done.stdout)


def _matches(versions: dict[str, str | None], wanted: list[str]) -> bool:
    for requirement in wanted:
        name, version = requirement.split("==")
        have = versions.get(name)
        if have is None or not (have.startswith(version[:-1]) if version.endswith("*") else have == version):
            return False
    return True


def ensure_env(env: Path) -> dict[str, Any]:
    """Create the peers' virtual environment, or reuse it when its marker and its versions match.

    Returns how long the install took (0 when reused), the versions, whether torch was pulled in; or an
    `error` (the peers are then reported as not installed).
    """
    env = env.expanduser().resolve()
    wanted = requirements()
    python_version = ".".join(map(str, sys.version_info[:3]))
    marker = env / MARKER
    if env.resolve().is_relative_to(PROJECT):
        return {"env": str(env), "error": "the peers' environment must live outside the repository"}
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("requirements") == wanted and saved.get("python") == python_version:
            try:
                versions = installed_versions(env)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                versions = {"error": str(e)}
            if _matches(versions, wanted):  # type: ignore[arg-type]
                return {"env": str(env), "reused": True, "seconds": 0.0, "versions": versions,
                        "torch": versions.get("torch") is not None, "requirements": wanted}
        log.warning("the peers' environment %s does not match %s: rebuilding it", env, wanted)
    elif env.exists() and any(env.iterdir()):
        return {"env": str(env), "error": f"{env} exists and is not this benchmark's environment (no {MARKER}); "
                                          "pass another --env or remove it"}
    started = time.perf_counter()
    try:
        env.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True, capture_output=True,
                       text=True, timeout=INSTALL_TIMEOUT)
        marker.write_text(json.dumps({"requirements": None, "state": "installing"}))  # ours, even half-built
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            dry = _pip(env, "install", "--dry-run", "--quiet", "--report", str(report), *wanted)
            if dry.returncode != 0:
                raise RuntimeError(f"pip cannot resolve {' '.join(wanted)}: {_tail(dry.stderr)}")
            pulled = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
        torch = "torch" in pulled
        if torch:
            done = _pip(env, "install", "--quiet", TORCH)
            if done.returncode != 0:
                raise RuntimeError(f"pip install {TORCH} failed: {_tail(done.stderr)}")
        done = _pip(env, "install", "--quiet", *wanted)
        if done.returncode != 0:
            raise RuntimeError(f"pip install failed: {_tail(done.stderr)}")
        versions = installed_versions(env)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        detail = _tail(e.stderr) if isinstance(e, subprocess.CalledProcessError) and e.stderr else str(e)
        return {"env": str(env), "error": detail, "seconds": round(time.perf_counter() - started, 1)}
    seconds = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps({"requirements": wanted, "python": python_version, "versions": versions,
                                  "install_seconds": seconds}, indent=2))
    return {"env": str(env), "reused": False, "seconds": seconds, "versions": versions, "torch": torch,
            "requirements": wanted}


# --- the run and the rows the peers are given ------------------------------------------------------------

def prepare(rows: int, seed: int, work: Path) -> dict[str, Any]:
    """In this process: the demo table (Parquet), one trained run, and the run's model matrix of the same
    customers with their labels, raw scores and the run's SHAP values (what the peers are checked against)."""
    import numpy as np
    import pandas as pd

    from insight.config import TrainConfig
    from insight.data import schema
    from insight.data.demo import demo_data, demo_spec
    from insight.models.recipe import matrix
    from insight.pipeline import train
    from insight.runs import layout
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    spec = demo_spec()
    data = demo_data(rows=rows, seed=seed)
    customers = work / "customers.parquet"
    data.customers.to_parquet(customers, index=False)
    started = time.perf_counter()
    run_path = train(data.customers, spec, TrainConfig(seed=seed), runs_dir=work / "runs",
                     source_name=customers.name, truth=data.truth)
    train_seconds = time.perf_counter() - started
    run = open_run(run_path)
    saved = load_models(run)
    names = saved.feature_names
    X = matrix(saved, data.customers)
    y = schema.clean_table(data.customers, spec).frame[spec.target].to_numpy(dtype=np.float64)
    labelled = ~np.isnan(y)
    if not labelled.all():
        raise ValueError(f"{int((~labelled).sum())} demo customers have no label: the peers need one for each")
    frame = pd.DataFrame(X, columns=names)
    frame["__target"] = y.astype(np.int64)
    frame["__raw_score"] = saved.churn.raw_score(X)
    ids = data.customers[spec.id_column].astype(str)
    frame.to_parquet(work / "model_matrix.parquet", index=False)
    shap = pd.read_parquet(run.file(layout.SHAP), columns=[spec.id_column, *names])  # one column per feature
    shap.set_index(shap[spec.id_column].astype(str)).loc[ids, names].to_parquet(work / "reference_shap.parquet",
                                                                                index=False)
    info = {"run": str(run_path), "runs_dir": str(work / "runs"), "run_id": run_path.name,
            "customers": str(customers), "model": str(run.file(layout.CHURN_MODEL)),
            "matrix": str(work / "model_matrix.parquet"), "reference_shap": str(work / "reference_shap.parquet"),
            "features": names, "categorical": [names[i] for i in saved.fmap.categorical_indices],
            "target": "__target", "raw_score": "__raw_score", "rows": rows,
            "train_seconds": round(train_seconds, 1)}
    (work / "prepared.json").write_text(json.dumps(info, indent=2))
    return info


# --- measuring one child process ---------------------------------------------------------------------------

LAUNCHER = """\
import json, os, sys, time
os.environ["INSIGHT_BENCH_STARTED"] = repr(time.time())
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "returncode": os.waitstatus_to_exitcode(status)}, f)
"""
"""Starts the measured command and waits for it. A child's ru_maxrss also counts the memory image it was
exec'd from, which for a direct child is a copy of this (large) process; started from this small launcher
(`python -S`, about 10 MB), the figure is the command's own peak, give or take that."""


def measure_child(command: list[str], *, log_file: Path, env: dict[str, str] | None = None,
                  timeout: float = MEASURE_TIMEOUT) -> dict[str, Any]:
    """Run `command` to its end through LAUNCHER: wall seconds, its peak resident memory (wait4's ru_maxrss),
    exit status, the 1-minute load average before and after. The command finds the wall-clock time it was
    started at in $INSIGHT_BENCH_STARTED."""
    load_before = os.getloadavg()[0]
    report = log_file.with_suffix(".rusage.json")
    report.unlink(missing_ok=True)
    with open(log_file, "w") as out:
        proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(report), *command], stdout=out,
                                stderr=subprocess.STDOUT, cwd=PROJECT, env={**os.environ, **(env or {})},
                                start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 9)  # the launcher and the command (its own session)
            proc.wait()
    measured: dict[str, Any] = {"process_seconds": float(timeout), "peak_gb": None, "returncode": -9,
                                "timed_out": timed_out}
    if report.exists():
        usage = json.loads(report.read_text())
        measured.update(process_seconds=round(usage["seconds"], 2), returncode=usage["returncode"],
                        peak_gb=round(usage["maxrss_kb"] * 1024 / 1e9, 2))
    elif not timed_out:  # the launcher itself failed (the command not found...): its log says why
        measured.update(process_seconds=0.0, returncode=proc.returncode or 1)
    return {**measured, "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def _error(measured: dict[str, Any], log_file: Path, what: str) -> str | None:
    if measured["returncode"] == 0:
        return None
    if measured.get("timed_out"):
        return f"{what} was stopped after {measured['process_seconds']:.0f} s"
    return f"{what} exited with status {measured['returncode']}: {_tail(log_file.read_text(errors='replace'), 3)}"


def _say(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def measure_score(info: dict[str, Any], work: Path) -> dict[str, Any]:
    insight = Path(sys.executable).with_name("insight")
    command = [str(insight) if insight.exists() else "insight", "score", info["run"], info["customers"],
               "--out", str(work / "scores"), "--overwrite"]
    log_file = work / "insight-score.log"
    measured = measure_child(command, log_file=log_file)
    measured.update(seconds=measured["process_seconds"], error=_error(measured, log_file, "insight score"))
    if measured["error"] is None:
        measured["scored_rows"] = _scored_rows(work / "scores")
        if measured["scored_rows"] != info["rows"]:
            measured["error"] = f"insight score wrote {measured['scored_rows']:,} rows, not {info['rows']:,}"
    return measured


def _scored_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet"))


def measure_cold_start(info: dict[str, Any], work: Path) -> dict[str, Any]:
    out = work / "cold.json"
    command = [sys.executable, "-m", "benchmarks", "dashboard-cold", "--runs-dir", info["runs_dir"],
               "--run", info["run_id"], "--json", str(out)]
    log_file = work / "dashboard-cold.log"
    measured = measure_child(command, log_file=log_file)
    measured["error"] = _error(measured, log_file, "the cold start")
    if measured["error"] is None:
        cold = json.loads(out.read_text())
        measured.update(seconds=cold["seconds"], heavy_imports=cold["heavy_imports"], problems=cold["problems"],
                        first_page_title=cold["first_page_title"])
        if cold["problems"]:
            measured["error"] = f"the first page had problems: {cold['problems'][:2]}"
    return measured


def measure_peer(tool: str, info: dict[str, Any], work: Path, env: Path) -> dict[str, Any]:
    out = work / f"{tool}.json"
    log_file = work / f"{tool}.log"
    measured = measure_child([str(env_python(env)), str(CHILD), tool, str(work / "prepared.json"), str(out)],
                             log_file=log_file)
    measured["error"] = _error(measured, log_file, tool)
    if measured["error"] is None:
        child = json.loads(out.read_text())
        measured.update(seconds=child["seconds"], phases=child["phases"], checks=child["checks"],
                        peak_gb_when_ready=child["peak_gb_when_ready"], versions=child["versions"])
    return measured


# --- the benchmark ---------------------------------------------------------------------------------------

def peers_benchmark(rows: int, *, env: Path = DEFAULT_ENV, seed: int = 0, work: Path | None = None,
                    tools: tuple[str, ...] = ("insight score", "insight dashboard", *PEERS)) -> dict[str, Any]:
    """Install (or reuse) the peers, train one run on `rows` demo customers, measure each tool (see the
    module docstring); every figure from this one call."""
    scratch = work is None
    work = Path(tempfile.mkdtemp(prefix="insight-peers-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"benchmark": "peers", "rows": rows, "seed": seed, "cpus": os.cpu_count(),
                              "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9, 1),
                              "load_at_start": [round(v, 2) for v in os.getloadavg()]}
    try:
        result["install"] = {"skipped": True}
        if any(t in PEERS for t in tools):
            _say(f"the peers' environment {env} (created once, then reused) ...")
            install = result["install"] = ensure_env(env)
            _say(f"  ERROR: {install['error']}" if "error" in install else
                 "  reused" if install["reused"] else f"  installed in {install['seconds']:.1f} s")
        _say(f"training one run on {rows:,} demo customers (not a measured figure) ...")
        log_file = work / "prepare.log"
        prepared = measure_child([sys.executable, "-m", "benchmarks.peers", "prepare", "--rows", str(rows),
                                  "--seed", str(seed), "--work", str(work)], log_file=log_file)
        error = _error(prepared, log_file, "training the run")
        if error:
            raise RuntimeError(error)
        info = json.loads((work / "prepared.json").read_text())
        result["preparation"] = {"seconds": prepared["process_seconds"], "train_seconds": info["train_seconds"],
                                 "peak_gb": prepared["peak_gb"], "run_id": info["run_id"],
                                 "features": len(info["features"]), "categorical": len(info["categorical"])}
        measures: list[dict[str, Any]] = []
        for tool in tools:
            _say(f"measuring {tool} ...")
            if tool in PEERS and "error" in result["install"]:
                row = {"error": f"not installed: {result['install']['error']}"}
            elif tool == "insight score":
                row = measure_score(info, work)
            elif tool == "insight dashboard":
                row = measure_cold_start(info, work)
            else:
                row = measure_peer(tool, info, work, Path(result["install"]["env"]))
            measures.append({"tool": tool, "timed": TIMED[tool], "rows": rows, **row})
            log.info("%s: %s", tool, row)
        result["measures"] = measures
    finally:
        result["load_at_end"] = [round(v, 2) for v in os.getloadavg()]
        if scratch:
            shutil.rmtree(work, ignore_errors=True)
        else:
            result["work"] = str(work)
    return result


def _figure(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else "-"


def print_peers(result: dict[str, Any]) -> None:
    install = result.get("install", {})
    print(f"model to dashboard, {result['rows']:,} demo customers (seed {result['seed']}); machine: "
          f"{result['cpus']} cores, {result['memory_gb']} GB; load average (1, 5, 15 min) "
          f"{', '.join(map(str, result['load_at_start']))} at the start, "
          f"{', '.join(map(str, result.get('load_at_end', [])))} at the end")
    if "error" in install:
        print(f"  peers' environment {install.get('env')}: NOT INSTALLED ({install['error']})")
    elif not install.get("skipped"):
        how = "reused" if install["reused"] else f"installed in {install['seconds']:.1f} s (not a measured figure)"
        versions = install["versions"]
        print(f"  peers' environment {install['env']}: {how}; explainerdashboard {versions.get('explainerdashboard')}, "
              f"shapash {versions.get('shapash')}, lightgbm {versions.get('lightgbm')}, shap {versions.get('shap')}, "
              f"torch {versions.get('torch') or 'not installed'}")
    prep = result.get("preparation")
    if prep:
        print(f"  the run {prep['run_id']} ({prep['features']} features, {prep['categorical']} categorical): "
              f"trained in {prep['train_seconds']:.1f} s, {prep['seconds']:.1f} s with the data (not a measured "
              "figure)")
    print(f"  {'tool':<20} {'wall s':>8} {'peak GB':>8} {'rows':>9} {'load before->after':>19}  what was timed")
    for m in result.get("measures", []):
        load = (f"{m['load_before']:.2f} -> {m['load_after']:.2f}" if "load_before" in m else "-")
        if m.get("error"):
            print(f"  {m['tool']:<20} {'ERROR':>8} {_figure(m.get('peak_gb'), '.2f'):>8} {m['rows']:>9,} "
                  f"{load:>19}  {m['error']}")
            continue
        print(f"  {m['tool']:<20} {m['seconds']:>8.2f} {m['peak_gb']:>8.2f} {m['rows']:>9,} {load:>19}  "
              f"{m['timed']}")
        if m.get("phases"):
            phases = ", ".join(f"{k} {v:.2f} s" for k, v in m["phases"].items())
            checks = ", ".join(f"{k} {v:.1e}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in m.get("checks", {}).items())
            print(f"  {'':<20} phases: {phases}; against the run: {checks}")
        if m.get("heavy_imports"):
            print(f"  {'':<20} heavy libraries imported: {', '.join(m['heavy_imports'])}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="demo customers (one table for every tool)")
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV,
                        help=f"the peers' virtual environment, created once and reused (default {DEFAULT_ENV})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="keep the run, the tables and each child's log here")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.peers prepare ...`: the benchmark's child that trains the run (in its own process)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    sub = parser.add_subparsers(dest="name", required=True)
    step = sub.add_parser("prepare")
    step.add_argument("--rows", type=int, required=True)
    step.add_argument("--seed", type=int, default=0)
    step.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    prepare(args.rows, args.seed, args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
