"""The upload page in AppTest: a table is previewed with its columns' roles and the guards' decisions, a bad
table or choice is refused inline with the message `insight train` gives (in the page's words), a started
training can be cancelled, and a viewer cannot use the page. The page needs no run: it starts on an empty
runs folder."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from insight.data import schema
from insight.data.demo import ID_COLUMN, TARGET, demo_data
from insight.errors import InputError
from insight.jobs import manager
from insight.jobs.folder import CANCELLED, DRAFT, QUEUED, RUNNING, jobs_root
from insight.jobs.preview import training_spec
from insight.ui.upload import in_page_words
from tests.app.appkit import assert_clean, new_app

PAGE = "pages/upload.py"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return demo_data(rows=300, seed=0).customers


def csv_of(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def plain(markdown: str) -> str:
    return markdown.replace("\\", "")


def upload_page(monkeypatch: pytest.MonkeyPatch, runs: Path) -> AppTest:
    at = new_app(monkeypatch, runs)
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at, "upload page")
    return at


def uploaded(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/csv"))
    return at.run()


def field(at: AppTest, label: str):  # noqa: ANN201 - an AppTest widget
    return next(w for w in [*at.selectbox, *at.multiselect] if w.label == label)


def errors(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [plain(e.value) for e in at.error]


def test_an_upload_is_previewed_with_roles_and_the_guards_decisions(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, table: pd.DataFrame) -> None:
    runs = tmp_path / "runs"  # no run yet: the page works without one
    at = uploaded(upload_page(monkeypatch, runs), "customers.csv", csv_of(table))
    assert_clean(at, "preview")
    assert any("39 columns, 300 rows" in plain(m.value) for m in at.markdown)
    assert (field(at, "Customer id").value, field(at, "Churn column").value) == (ID_COLUMN, TARGET)  # guessed
    field(at, "Aux targets").set_value(["revenue_next_12m"]).run()
    assert_clean(at, "aux chosen")
    guards = next(d.value for d in at.dataframe if "Why" in d.value.columns).set_index("Column")
    expected = schema.clean_table(table, training_spec(table.columns, id_column=ID_COLUMN, target=TARGET,
                                                       aux=["revenue_next_12m"])).schema
    for column in expected.columns:
        assert guards.loc[column.name, "Role"] == str(column.role)
        assert guards.loc[column.name, "Feature"] == ("yes" if column.is_feature else "no")
    assert guards.loc["seat_change_next_12m", "Role"] == "leakage"
    assert guards.loc["revenue_next_12m", "Role"] == "aux target"
    field(at, "Keep anyway").set_value(["seat_change_next_12m"]).run()  # --keep overrides the guard
    guards = next(d.value for d in at.dataframe if "Why" in d.value.columns).set_index("Column")
    assert guards.loc["seat_change_next_12m", "Feature"] == "yes"
    assert [b.label for b in at.button] == ["Start training"]
    # the upload is stored once, as a draft job under the runs folder, whatever the reruns
    jobs = manager.list_jobs(runs)
    assert len(jobs) == 1 and jobs[0].status.state == DRAFT
    assert jobs[0].folder.upload_path.read_bytes() == csv_of(table)
    uploaded(at, "other.csv", csv_of(table.head(150)))  # a new upload replaces the draft
    assert [j.info.source_name for j in manager.list_jobs(runs)] == ["other.csv"]


@pytest.mark.parametrize("kind", ["parquet", "semicolons", "utf-16 tsv"])
def test_other_formats_are_previewed_as_the_cli_reads_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          table: pd.DataFrame, kind: str) -> None:
    name, data = {
        "parquet": lambda: ("customers.parquet", table.to_parquet(index=False)),
        "semicolons": lambda: ("customers.csv", table.to_csv(index=False, sep=";").encode()),
        "utf-16 tsv": lambda: ("customers.tsv", table.to_csv(index=False, sep="\t").encode("utf-16")),
    }[kind]()
    at = uploaded(upload_page(monkeypatch, tmp_path / "runs"), name, data)
    assert_clean(at, kind)
    assert any("39 columns, 300 rows" in plain(m.value) for m in at.markdown)
    assert [b.label for b in at.button] == ["Start training"]


def test_bad_choices_are_refused_inline_with_the_cli_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             table: pd.DataFrame) -> None:
    at = uploaded(upload_page(monkeypatch, tmp_path / "runs"), "customers.csv", csv_of(table))
    field(at, "Churn column").set_value("plan").run()
    with pytest.raises(InputError) as refused:
        schema.clean_table(table, training_spec(table.columns, id_column=ID_COLUMN, target="plan"))
    assert errors(at) == [in_page_words(str(refused.value))]
    assert "choose a yes/no column as “Churn column”" in errors(at)[0] and "--target" not in errors(at)[0]
    assert not at.button  # nothing to start
    field(at, "Churn column").set_value(TARGET).run()
    field(at, "Aux targets").set_value(["seat_change_next_12m", "revenue_next_12m"]).run()
    assert errors(at) == [] and [b.label for b in at.button] == ["Start training"]
    field(at, "Time observed (tenure)").set_value("active_days_90d").run()  # a duration for the survival model
    assert errors(at) == [] and [b.label for b in at.button] == ["Start training"]
    field(at, "Time observed (tenure)").set_value("timezone_offset_hours").run()  # negative: not a duration
    assert len(errors(at)) == 1 and "“Time observed (tenure)” column 'timezone_offset_hours'" in errors(at)[0]
    assert "negative values" in errors(at)[0] and not at.button


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("twice.csv", "duplicated ids", r"id column 'customer_id' has 1 duplicated values"),
    ("tiny.csv", "50 rows", r"the table has 50 rows; at least 100 customers are needed"),
    ("broken.parquet", b"PAR1 this is not parquet", r"broken.parquet: could not be read as a table"),
    ("book.xlsx", b"PK\x03\x04", "book.xlsx is an Excel (or OpenDocument) workbook; insight reads CSV or "
                                 "Parquet files. Export the sheet as CSV"),
])
def test_a_malformed_upload_gets_a_message_not_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           table: pd.DataFrame, name: str, data: object,
                                                           expected: str) -> None:
    if data == "duplicated ids":
        frame = table.copy()
        frame.loc[1, ID_COLUMN] = frame.loc[0, ID_COLUMN]
        data = csv_of(frame)
    elif data == "50 rows":
        data = csv_of(table.head(50))
    at = uploaded(upload_page(monkeypatch, tmp_path / "runs"), name, data)  # type: ignore[arg-type]
    shown = errors(at)
    assert len(shown) == 1 and expected in shown[0], shown
    assert "Traceback" not in shown[0] and not at.button


def test_an_upload_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(manager.MAX_UPLOAD_ENV, "1")
    at = upload_page(monkeypatch, tmp_path / "runs")
    assert at.file_uploader[0].proto.max_upload_size_mb == 1  # the browser's own cap
    rows = 40_000
    frame = pd.DataFrame({"customer_id": range(rows), "churned": [0, 1] * (rows // 2),
                          "note": ["x" * 20] * rows})
    at = uploaded(at, "big.csv", csv_of(frame))
    assert errors(at) == [f"big.csv is {len(csv_of(frame)) / 1024 / 1024:,.1f} MB, larger than the upload "
                          "limit of 1 MB; upload a smaller table (a sample of its rows) or ask the "
                          "dashboard's owner to raise INSIGHT_MAX_UPLOAD_MB."]
    assert not jobs_root(tmp_path / "runs").exists()  # nothing stored


def test_a_started_training_shows_progress_and_can_be_cancelled(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, table: pd.DataFrame) -> None:
    runs = tmp_path / "runs"
    at = uploaded(upload_page(monkeypatch, runs), "customers.csv", csv_of(table))
    at.button(key="upload_start").click().run()
    at.run()  # AppTest: the page's own run after switch_page (its widget ids then stay put)
    assert_clean(at, "started")
    [job] = manager.list_jobs(runs)
    assert job.status.state in (QUEUED, RUNNING) and job.info.owner == "local analyst"
    assert at.get("progress") and [b.label for b in at.button] == ["Cancel"]  # the jobs panel follows it
    assert at.file_uploader[0].value is None  # the uploader is ready for the next table
    at.button(key=f"upload_cancel_{job.id}").click().run()
    assert job.folder.cancel_requested is not None and any(c.value == "Stopping…" for c in at.caption)
    deadline = time.monotonic() + manager.CANCEL_GRACE_S + 10
    while manager.job_status(job.folder).state != CANCELLED and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    assert_clean(at, "cancelled")
    assert any("customers.csv: cancelled; no run was written." == plain(i.value) for i in at.info)
    assert [p.name for p in runs.iterdir()] == [".jobs"]  # no run, no temporary folder


@pytest.mark.parametrize(("email", "listed"), [("ana@example.com", True), ("bob@example.com", False)])
def test_only_analysts_get_the_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, email: str,
                                    listed: bool) -> None:
    monkeypatch.setenv("INSIGHT_ANALYSTS", "ana@example.com")
    monkeypatch.setenv("INSIGHT_VIEWERS", "@example.com")
    at = new_app(monkeypatch, tmp_path / "runs")
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
                          "client_id": "dashboard", "client_secret": "x",
                          "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    if listed:
        at.switch_page(PAGE).run()
        assert_clean(at, "analyst")
        assert at.file_uploader
    else:  # not in a viewer's navigation, so its address leads nowhere
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(PAGE)
