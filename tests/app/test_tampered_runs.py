"""The dashboard refuses every tampered run `insight runs verify` refuses, says why in words and shows nothing of
it, on every page; with INSIGHT_SIGNING_KEY set it refuses unsigned and wrongly signed runs; a run changed on
disk after it was opened is verified again before it is shown again."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from appkit import PROJECT, assert_clean, metric, new_app
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from insight.cli import app
from insight.runs.integrity import SIGNING_KEY_ENV, seal
from insight.runs.layout import MANIFEST, MANIFEST_DIGEST

KEY = "the dashboard's signing key, 32+ characters"
RUN_PAGES = sorted(f"pages/{p.name}" for p in (PROJECT / "pages").glob("*.py")
                   if "shell.page(" in p.read_text())
"""The pages that show a run (a page that needs none, such as an upload page, is left out)."""
OVERVIEW = "pages/overview.py"


def _manifest(run: Path) -> dict:
    return json.loads((run / MANIFEST).read_text())


def _store(run: Path, manifest: object) -> None:
    (run / MANIFEST).write_text(json.dumps(manifest, indent=2))


def _drop_map(run: Path) -> None:
    shutil.copy(run / "customers.parquet", run / "map.parquet")


def _no_digest(run: Path) -> None:
    manifest = _manifest(run)
    del manifest[MANIFEST_DIGEST]
    manifest["metrics"]["lightgbm"]["test"]["roc_auc"] = 0.99
    _store(run, manifest)


def _edited(run: Path) -> None:
    manifest = _manifest(run)
    manifest["metrics"]["lightgbm"]["test"]["roc_auc"] = 0.99
    _store(run, manifest)


def _list_manifest(run: Path) -> None:
    _store(run, [_manifest(run)])


def _no_sha256(run: Path) -> None:
    manifest = _manifest(run)
    del manifest["files"]["shap.parquet"]["sha256"]
    _store(run, seal(manifest, key=b""))


def _flipped_byte(run: Path) -> None:
    data = bytearray((run / "shap.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / "shap.parquet").write_bytes(bytes(data))


def _grown(run: Path) -> None:
    with open(run / "segments.json", "a") as f:
        f.write(" ")


def _missing(run: Path) -> None:
    (run / "calibration.json").unlink()


TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "unlisted map.parquet": (_drop_map, "map.parquet: a file not listed in the manifest"),
    "manifest digest deleted": (_no_digest, "has no checksum of its own"),
    "manifest edited": (_edited, "its content does not match its checksum (the manifest was edited)"),
    "manifest is a JSON list": (_list_manifest, "holds a JSON list instead of an object: the run is damaged"),
    "entry without sha256": (_no_sha256, "shap.parquet: the manifest's entry has no valid sha256: the run is "
                                         "damaged"),
    "checksum mismatch": (_flipped_byte, "shap.parquet: checksum does not match the manifest"),
    "size mismatch": (_grown, "segments.json: size"),
    "listed file missing": (_missing, "calibration.json: missing"),
}


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)


def copy_run(source: Path, runs: Path) -> Path:
    run = runs / source.name
    shutil.copytree(source, run)
    return run


def shown(markdown: str) -> str:
    """Markdown as the reader sees it: escapes (`\\-`, `\\(`) gone, bold marks gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("**", "")


def assert_refused(at: AppTest, run: Path, words: str) -> None:
    """Every page: the refusal with its reason, and nothing of the run (no figures, tables, metrics, facts)."""
    for page in RUN_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        errors = " ".join(shown(e.value) for e in at.error)
        assert f"Run {run.name} cannot be shown" in errors, (page, errors)
        assert words in errors, (page, errors)
        assert "Traceback" not in errors
        assert "This run failed its checks." in errors  # the sidebar says so too
        assert not at.metric and not at.dataframe and not at.get("plotly_chart") and not at.title, page
        assert not [m for m in at.markdown if "Customers:" in m.value], page  # the sidebar's facts


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_the_dashboard_refuses_a_tampered_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_run: Path,
                                              how: str) -> None:
    run = copy_run(demo_run, tmp_path / "runs")
    change, words = TAMPERINGS[how]
    change(run)
    verify = CliRunner().invoke(app, ["runs", "verify", str(run)])
    assert verify.exit_code == 1 and words in verify.stderr  # the command refuses it for the same reason
    at = new_app(monkeypatch, tmp_path / "runs")
    at.run()
    assert_refused(at, run, words)


def test_signed_runs_with_the_key_unsigned_and_wrongly_signed_ones_refused(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path,
                                                                            demo_run: Path) -> None:
    runs = tmp_path / "runs"
    run = copy_run(demo_run, runs)  # written without a key: unsigned
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    at = new_app(monkeypatch, runs)
    at.run()
    assert_refused(at, run, f"not signed, and {SIGNING_KEY_ENV} is set")

    _store(run, seal(_manifest(run), key=KEY.encode()))  # signed with the key, as a training with it would
    at.switch_page(OVERVIEW).run()
    assert_clean(at, "a run signed with the key")
    assert metric(at, "Customers")

    monkeypatch.setenv(SIGNING_KEY_ENV, "not the key the run was signed with")
    at.run()
    assert_refused(at, run, f"its signature does not match {SIGNING_KEY_ENV}")

    monkeypatch.delenv(SIGNING_KEY_ENV)  # without a key a signed run is checked on its checksums alone
    at.switch_page(OVERVIEW).run()
    assert_clean(at, "a signed run, no key")


def test_a_run_changed_after_it_was_opened_is_verified_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             demo_run: Path) -> None:
    """The change keeps the file's size and modification time (as `touch -r` would): the folder's status-change
    times still tell, and the run is checked again, checksums and all, before it is shown again."""
    runs = tmp_path / "runs"
    run = copy_run(demo_run, runs)
    at = new_app(monkeypatch, runs)
    at.run()
    at.switch_page(OVERVIEW).run()
    assert_clean(at, "the intact run")
    shown = metric(at, "Customers")

    target = run / "customers.parquet"
    before = target.stat()
    original = target.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_mtime_ns == before.st_mtime_ns and target.stat().st_size == before.st_size
    assert_refused(at, run, "customers.parquet: checksum does not match the manifest")

    target.write_bytes(original)  # put back: verified again, and shown again
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    at.switch_page(OVERVIEW).run()
    assert_clean(at, "the run put back")
    assert metric(at, "Customers") == shown

    _drop_map(run)  # a file added while the run is open
    assert_refused(at, run, "map.parquet: a file not listed in the manifest")
