"""insight.runs.manifest: typed manifests and segment profiles, and runs written before the run contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from insight.errors import RunError
from insight.config import TrainConfig
from insight.runs import layout
from insight.runs.manifest import Manifest, SegmentProfile, segment_profiles
from insight.runs.run import open_run, read_manifest, verify_run
from insight.runs.store import RunStore

SCHEMA_1 = Path(__file__).resolve().parents[1] / "fixtures" / "runs-schema-1"


def schema_1_run() -> Path:
    return next(p for p in SCHEMA_1.iterdir() if p.is_dir())


def test_a_run_written_before_the_run_contract_opens_unchanged() -> None:
    path = schema_1_run()
    assert verify_run(path) == []
    run = open_run(path)
    assert run.manifest.schema_version == 1 and layout.SCHEMA_VERSION > 1
    assert run.manifest.spec.id_column == "customer_id" and run.manifest.spec.target == "churned"
    assert run.manifest.source.rows == 400 and 0 < run.manifest.churn_rate < 1
    assert set(run.manifest.risk_bands) == set(layout.RISK_BANDS[1:])
    store = RunStore.from_run(run)
    assert store.count() == 400
    profiles = segment_profiles(run.json(layout.SEGMENTS))
    assert profiles and sum(p.size for p in profiles) == 400 and all(p.name for p in profiles)


def test_manifest_and_profiles_round_trip_what_was_stored() -> None:
    stored = json.loads((schema_1_run() / layout.MANIFEST).read_text())
    again = json.loads(json.dumps(Manifest.from_dict(stored).to_dict()))  # as JSON stores it
    for key in ("spec", "config", "metrics", "features", "risk_bands", "source", "dropped_columns"):
        assert again[key] == stored[key], key
    segments = json.loads((schema_1_run() / layout.SEGMENTS).read_text())["segments"]
    assert json.loads(json.dumps([SegmentProfile.from_dict(s).to_dict() for s in segments])) == segments
    config = json.loads(json.dumps(Manifest.from_dict(stored).train_config.to_dict()))
    defaults = json.loads(json.dumps(TrainConfig().to_dict()))
    for key, value in config.items():  # every stored setting read back; a setting added since, its default
        if isinstance(value, dict):
            assert value == {**defaults[key], **stored["config"].get(key, {})}, key
        else:
            assert value == stored["config"].get(key, defaults[key]), key


def test_a_run_of_an_unknown_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / schema_1_run().name
    shutil.copytree(schema_1_run(), path)
    manifest = json.loads((path / layout.MANIFEST).read_text())
    manifest["schema_version"] = max(layout.READABLE_SCHEMA_VERSIONS) + 1
    (path / layout.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RunError, match="retrain with this version"):
        open_run(path)


def test_a_manifest_without_a_spec_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / layout.MANIFEST).write_text(json.dumps({"schema_version": 2, "run_id": "x"}))
    with pytest.raises(RunError, match="names no id column"):
        read_manifest(tmp_path)
