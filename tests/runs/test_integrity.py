"""insight.runs.integrity: every way of slipping a change into a run is refused, by verify_run and by the real
`insight runs verify` (exit 1, one line per problem), and manifests are signed with INSIGHT_SIGNING_KEY."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.runs.integrity import (
    SIGNATURE_NOT_CHECKED,
    SIGNING_KEY_ENV,
    manifest_digest,
    manifest_signature,
    seal,
    verify_report,
)
from insight.runs.layout import MANIFEST, MANIFEST_DIGEST, MANIFEST_SIGNATURE
from insight.runs.run import RunWriter, open_run, read_manifest, verify_run
from insight.errors import RunError

KEY = "a-test-signing-key-of-32-characters!"


def write_run(runs_dir: Path, run_id: str = "20250101-000000-small-aaaa") -> Path:
    with RunWriter(runs_dir, run_id) as w:
        w.write_text("churn_model.txt", "tree\n" * 100)
        w.write_json("calibration.json", {"slope": 1.5})
        w.write_parquet("customers.parquet", pd.DataFrame({"id": ["a", "b"], "p": [0.1, 0.9]}))
        return w.commit({"metrics": {"test": {"roc_auc": 0.8}}, "created": datetime.now(UTC),
                         "spec": {"id_column": "id", "target": "churned"}})


def manifest_of(run: Path) -> dict:
    return json.loads((run / MANIFEST).read_text())


def store(run: Path, manifest: object) -> None:
    (run / MANIFEST).write_text(json.dumps(manifest))


def edit_manifest(run: Path, change: Callable[[dict], None], *, reseal: bool = True) -> None:
    """Change the manifest and give it a matching checksum, as someone with write access but no key can."""
    manifest = manifest_of(run)
    change(manifest)
    store(run, seal(manifest, key=b"") if reseal else manifest)


def _drop_map(run: Path) -> None:  # a large run's optional file, dropped into a small run
    shutil.copy(run / "customers.parquet", run / "map.parquet")


def _drop_folder(run: Path) -> None:
    (run / "extra").mkdir()


def _no_digest(run: Path) -> None:
    manifest = manifest_of(run)
    del manifest[MANIFEST_DIGEST]
    manifest["metrics"]["test"]["roc_auc"] = 0.99  # and a better-looking number
    store(run, manifest)


def _edited_metrics(run: Path) -> None:
    edit_manifest(run, lambda m: m["metrics"]["test"].update(roc_auc=0.99), reseal=False)


def _list_manifest(run: Path) -> None:
    store(run, [manifest_of(run)])


def _string_manifest(run: Path) -> None:
    store(run, "a run")


def _no_sha256(run: Path) -> None:
    edit_manifest(run, lambda m: m["files"]["churn_model.txt"].pop("sha256"))


def _no_bytes(run: Path) -> None:
    edit_manifest(run, lambda m: m["files"]["churn_model.txt"].pop("bytes"))


def _entry_not_an_object(run: Path) -> None:
    edit_manifest(run, lambda m: m["files"].update({"churn_model.txt": "0" * 64}))


def _files_a_list(run: Path) -> None:
    edit_manifest(run, lambda m: m.update(files=list(m["files"])))


def _outside_name(run: Path) -> None:
    edit_manifest(run, lambda m: m["files"].update({"../../etc/passwd": m["files"]["churn_model.txt"]}))


def _flipped_byte(run: Path) -> None:
    data = bytearray((run / "customers.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / "customers.parquet").write_bytes(bytes(data))


def _truncated(run: Path) -> None:
    (run / "churn_model.txt").write_text("tree\n")


def _missing(run: Path) -> None:
    (run / "calibration.json").unlink()


def _hidden_file(run: Path) -> None:  # a listed file removed from the list: now unlisted
    edit_manifest(run, lambda m: m["files"].pop("calibration.json"))


def _link(run: Path) -> None:
    target = run.parent / "elsewhere.json"
    (run / "calibration.json").rename(target)
    (run / "calibration.json").symlink_to(target)


TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    # name: (what is done to an intact run, words the refusal must contain)
    "unlisted map.parquet": (_drop_map, "map.parquet: a file not listed in the manifest"),
    "unlisted folder": (_drop_folder, "extra: a folder not listed in the manifest"),
    "listed file taken off the list": (_hidden_file, "calibration.json: a file not listed in the manifest"),
    "manifest digest deleted": (_no_digest, "has no checksum of its own"),
    "manifest edited": (_edited_metrics, "does not match its checksum (the manifest was edited)"),
    "manifest is a JSON list": (_list_manifest, "holds a JSON list instead of an object: the run is damaged"),
    "manifest is a JSON string": (_string_manifest, "holds a JSON str instead of an object: the run is damaged"),
    "entry without sha256": (_no_sha256, "churn_model.txt: the manifest's entry has no valid sha256: the run is "
                                         "damaged"),
    "entry without size": (_no_bytes, "churn_model.txt: the manifest's entry has no size in bytes: the run is "
                                      "damaged"),
    "entry not an object": (_entry_not_an_object, "churn_model.txt: the manifest's entry has no valid sha256"),
    "files not an object": (_files_a_list, "its list of files is not an object: the run is damaged"),
    "file outside the folder": (_outside_name, "lists a file outside the run folder"),
    "checksum mismatch": (_flipped_byte, "customers.parquet: checksum does not match the manifest"),
    "size mismatch": (_truncated, "churn_model.txt: size 5 bytes, manifest says 500"),
    "listed file missing": (_missing, "calibration.json: missing"),
    "listed file is a link": (_link, "calibration.json: a link, not a file"),
}
TAMPERING_IDS = list(TAMPERINGS)


def tamper(run: Path, how: str) -> str:
    change, words = TAMPERINGS[how]
    change(run)
    return words


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)


def verify_cli(run: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["runs", "verify", str(run), *args])


def test_an_intact_run_verifies(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    report = verify_report(run)
    assert report.ok and report.notes == []
    result = verify_cli(run)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"OK {run.name}: every file matches its checksum"


@pytest.mark.parametrize("how", TAMPERING_IDS)
def test_every_tampering_is_refused_by_verify_run_and_runs_verify(tmp_path: Path, how: str) -> None:
    run = write_run(tmp_path / "runs")
    words = tamper(run, how)
    problems = verify_run(run)
    assert any(words in p for p in problems), problems
    with pytest.raises(RunError, match="damaged or was modified and cannot be used"):
        open_run(run)
    result = verify_cli(run)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    fails = [line for line in lines if line.startswith("FAIL ")]
    assert len(fails) == len(problems) and all(line.startswith(f"FAIL {run.name}: ") for line in fails)
    assert any(words in line for line in fails)
    assert "Traceback" not in result.output and "OK" not in result.stdout


def test_a_damaged_manifest_is_never_read_as_a_run(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    _list_manifest(run)
    with pytest.raises(RunError, match="manifest.json is damaged"):
        read_manifest(run)
    result = CliRunner().invoke(app, ["runs", "list", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0 and "unreadable manifest" in result.stdout and result.exception is None


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    run = write_run(tmp_path)
    _drop_map(run)
    _flipped_byte(run)
    _missing(run)
    result = verify_cli(run)
    assert result.exit_code == 1
    fails = [line for line in result.stderr.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 3, fails


# ---------------------------------------------------------------------------------------------- signing


def test_with_a_key_runs_are_signed_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    run = write_run(tmp_path)
    manifest = manifest_of(run)
    assert manifest[MANIFEST_SIGNATURE] == manifest_signature(manifest_digest(manifest), KEY.encode())
    assert manifest[MANIFEST_DIGEST] == manifest_digest(manifest)  # the signature is outside the digest
    assert verify_report(run).ok and verify_report(run).notes == []
    result = verify_cli(run)
    assert result.exit_code == 0
    assert f"signature checked with {SIGNING_KEY_ENV}" in result.stdout

    monkeypatch.setenv(SIGNING_KEY_ENV, "another key of the same kind, but not it")
    result = verify_cli(run)
    assert result.exit_code == 1
    assert f"its signature does not match {SIGNING_KEY_ENV}" in result.stderr


def test_a_resealed_manifest_passes_without_the_key_but_not_with_it(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    """Whoever can write the folder can recompute every checksum; only the key tells the change."""
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    run = write_run(tmp_path)
    signature = manifest_of(run)[MANIFEST_SIGNATURE]

    def better_auc(m: dict) -> None:
        m["metrics"]["test"]["roc_auc"] = 0.99
    manifest = manifest_of(run)
    better_auc(manifest)
    manifest = seal(manifest, key=b"")
    manifest[MANIFEST_SIGNATURE] = signature  # the old signature kept
    store(run, manifest)
    problems = verify_run(run)
    assert len(problems) == 1 and "signature does not match" in problems[0]

    monkeypatch.delenv(SIGNING_KEY_ENV)
    report = verify_report(run)
    assert report.ok and report.notes == [SIGNATURE_NOT_CHECKED]
    result = verify_cli(run)
    assert result.exit_code == 0
    assert "signature not checked: INSIGHT_SIGNING_KEY is not set" in result.stdout


def test_with_a_key_an_unsigned_run_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = write_run(tmp_path)
    assert MANIFEST_SIGNATURE not in manifest_of(run)
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    result = verify_cli(run)
    assert result.exit_code == 1
    assert f"not signed, and {SIGNING_KEY_ENV} is set" in result.stderr
    with pytest.raises(RunError, match="not signed"):
        open_run(run)
    store(run, {**manifest_of(run), MANIFEST_SIGNATURE: 12345})  # a signature of the wrong kind
    assert "signature does not match" in " ".join(verify_run(run))


def test_a_signed_run_verifies_on_checksums_without_the_key(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    run = write_run(tmp_path)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    result = verify_cli(run)
    assert result.exit_code == 0
    assert result.stdout.strip() == (f"OK {run.name}: every file matches its checksum; signature not checked: "
                                     f"{SIGNING_KEY_ENV} is not set")
    _flipped_byte(run)
    result = verify_cli(run)
    assert result.exit_code == 1 and "checksum does not match" in result.stderr
    assert f"note {run.name}: {SIGNATURE_NOT_CHECKED}" in result.stderr


def test_seal_drops_an_old_signature_without_a_key() -> None:
    signed = seal({"a": 1}, key=b"k")
    assert MANIFEST_SIGNATURE in signed
    assert MANIFEST_SIGNATURE not in seal(signed, key=b"")
    assert seal(signed, key=b"")[MANIFEST_DIGEST] == signed[MANIFEST_DIGEST]
