"""The upload page's widgets: upload a table, preview it, choose what to train, start it, follow the jobs.

The table is stored as a draft job under the runs folder (insight.jobs.manager) the moment it is uploaded, and
read, previewed and checked by insight.jobs.preview (the rules `insight train` applies); the training runs in
a worker process (insight.jobs.worker), and the jobs panel polls its status in a fragment, so the page stays
responsive and other sessions are unaffected.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit import config as st_config

from insight import formatting as fmt
from insight.formatting import markdown_text as md
from insight.config import DataSpec, TrainConfig
from insight.data.schema import Schema
from insight.errors import InputError
from insight.jobs import manager, preview
from insight.jobs.folder import CANCELLED, DONE, DRAFT, FAILED, JobFolder, jobs_root
from insight.jobs.preview import TablePreview

log = logging.getLogger("insight.ui")

UPLOADER_KEY = "upload_file"
ROUND_KEY = "upload_round"
"""session_state: how many trainings this session started; part of the uploader's key, so that starting one
empties the uploader for the next table."""
UPLOADS_KEY = "upload_jobs"
"""session_state: uploaded file id -> its job id (so that a rerun does not store the file again)."""
WATCHING_KEY = "upload_watching"
"""session_state: ids of this session's jobs seen running (one finishing reruns the whole app)."""
POLL_S = 1.5
OPTION_WORDS = {"id": "Customer id", "target": "Churn column", "aux": "Aux targets", "keep": "Keep anyway",
                "exclude": "Never use", "positive": "Value that means churned",
                "duration": "Time observed (tenure)"}
"""The page's name for each `insight train` option its messages mention."""
_OPTION = re.compile(r"(?:\b[Pp]ass )?--(" + "|".join(OPTION_WORDS) + r")\b(?: (?:COL|VALUE)\b)?")


def in_page_words(message: str) -> str:
    """A CLI message with its options (`--keep COL`) named as this page's fields ("Keep anyway")."""
    def name(match: re.Match[str]) -> str:
        field, text = f"“{OPTION_WORDS[match.group(1)]}”", match.group(0)
        if text.startswith(("Pass", "pass")):
            return ("Use " if text[0] == "P" else "use ") + field
        return field
    return _OPTION.sub(name, message)


def upload_limit_mb() -> int:
    """What the uploader accepts: our own limit, within Streamlit's server.maxUploadSize."""
    return max(1, min(manager.max_upload_mb(), int(st_config.get_option("server.maxUploadSize"))))


def upload_form(runs_dir: Path, owner: str) -> None:
    """Upload, preview, choose the columns and start a training."""
    limit = upload_limit_mb()
    file = st.file_uploader(
        "Customer table (CSV, TSV or Parquet)", key=f"{UPLOADER_KEY}_{st.session_state.get(ROUND_KEY, 0)}",
        max_upload_size=limit,
        help=f"One row per customer, with an id column and a churn column (0/1 or yes/no). At most {limit} "
             "MB. An Excel workbook: File > Save As > CSV UTF-8 first.")
    uploads: dict[str, str] = st.session_state.setdefault(UPLOADS_KEY, {})
    if file is None:
        _forget_drafts(runs_dir, uploads, keep=None)
        return
    job_id = uploads.get(file.file_id)
    if job_id is None:
        _forget_drafts(runs_dir, uploads, keep=None)
        try:
            job_id = manager.create_upload(runs_dir, name=file.name, data=file.getbuffer(), owner=owner).id
        except InputError as e:
            st.error(md(str(e)), icon=":material/error:")
            return
        uploads[file.file_id] = job_id
    job = JobFolder(jobs_root(runs_dir) / job_id)
    if not job.path.is_dir():  # removed meanwhile (by its Remove button, or pruned)
        st.info("This upload is gone; remove it above and upload the table again.", icon=":material/info:")
        return
    if manager.job_status(job).state != DRAFT:
        st.info("This table's training has started; follow it below. Upload a table again to train another.",
                icon=":material/info:")
        return
    try:
        stamp = (str(job.upload_path), job.info().source_name, job.upload_path.stat().st_mtime)
        frame, table = _table(*stamp), _preview(*stamp)
    except InputError as e:
        st.error(md(in_page_words(str(e))), icon=":material/error:")
        return
    _table_summary(file.name, table)
    spec = _spec_fields(frame, table, job.id)
    if spec is None:
        st.info("Choose the customer id and the churn column to see what training will use.",
                icon=":material/touch_app:")
        return
    checked = _checked(*stamp, json.dumps(spec.to_dict()))
    if isinstance(checked, str):
        st.error(md(in_page_words(checked)), icon=":material/error:")
        return
    _guards_table(spec, checked)
    if st.button("Start training", type="primary", icon=":material/model_training:", key="upload_start"):
        try:
            manager.start(job, spec, TrainConfig())
        except InputError as e:
            st.error(md(str(e)), icon=":material/error:")
            return
        st.session_state.setdefault(WATCHING_KEY, set()).add(job.id)
        st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
        uploads.clear()
        st.rerun()


def jobs_panel(runs_dir: Path, owner: str) -> None:
    """This analyst's trainings (live progress, cancel, open the run) and everyone's running ones; polls while
    any is running."""
    jobs = manager.list_jobs(runs_dir)
    active = any(j.status.active for j in jobs)
    st.fragment(_jobs_body, run_every=POLL_S if active else None)(str(runs_dir), owner)


def _jobs_body(runs_dir: str, owner: str) -> None:
    jobs = manager.list_jobs(Path(runs_dir))
    mine = [j for j in jobs if j.info.owner == owner and j.status.state != DRAFT]
    others = [j for j in jobs if j.info.owner != owner and j.status.active]
    watching: set[str] = st.session_state.setdefault(WATCHING_KEY, set())
    st.subheader("Your trainings")
    if not mine:
        st.caption("None yet: upload a table above and start a training.")
    for job in mine[:10]:
        _job_card(job)
    if others:
        st.subheader("Running now for other analysts")
        st.dataframe(pd.DataFrame({
            "Analyst": [j.info.owner for j in others], "Table": [j.info.source_name for j in others],
            "Stage": [_stage(j.status.stage) for j in others], "Done": [j.status.progress for j in others],
            "Running for": [_elapsed(j.status.started) for j in others]}),
            hide_index=True,
            column_config={"Done": st.column_config.ProgressColumn(min_value=0, max_value=1)})
    finished = {j.id for j in mine if j.id in watching and j.status.final}
    watching.difference_update(finished)
    watching.update(j.id for j in mine if j.status.active)
    if finished:  # a new run (or none): the sidebar's run picker and the polling follow
        st.rerun(scope="app")


def _job_card(job: manager.Job) -> None:
    s, name = job.status, job.info.source_name
    with st.container(border=True):
        if s.active:
            st.markdown(f"**{md(name)}** · training for "
                        f"{_elapsed(s.started)}")
            st.progress(min(1.0, max(0.0, s.progress)),
                        text=f"{_stage(s.stage or 'starting')}… {s.progress:.0%}")
            if job.folder.cancel_requested is not None:
                st.caption("Stopping…")
            elif st.button("Cancel", key=f"upload_cancel_{job.id}", icon=":material/cancel:",
                           help="Stop this training; no run is written."):
                manager.cancel(job.folder)
                st.caption("Stopping…")
        elif s.state == DONE:
            took = _elapsed(s.started, s.finished)
            st.success(f"{md(name)}: trained run **{md(s.run_id or '')}** in {took}. It is in the run "
                       "picker.", icon=":material/check_circle:")
            if st.button("Open this run", key=f"upload_open_{job.id}", icon=":material/open_in_new:"):
                st.switch_page("pages/overview.py", query_params={"run": s.run_id or ""})
        elif s.state == FAILED:
            st.error(f"{md(name)}: training failed. {md(in_page_words(s.error or ''))}",
                     icon=":material/error:")
        elif s.state == CANCELLED:
            st.info(f"{md(name)}: cancelled; no run was written.", icon=":material/cancel:")
        if s.final and st.button("Remove", key=f"upload_remove_{job.id}", icon=":material/delete:",
                                 help="Delete this job and its uploaded table (a trained run stays)."):
            manager.discard(job.folder)
            st.rerun()


def _table_summary(name: str, table: TablePreview) -> None:
    st.markdown(f"**{len(table.columns)} columns, {fmt.count(table.rows)} rows** in {md(name)}. "
                "The first rows:")
    st.dataframe(table.head, hide_index=True, height=220)


def _spec_fields(frame: pd.DataFrame, table: TablePreview, job_id: str) -> DataSpec | None:
    """The `insight train` options as fields; None until an id and a target are chosen."""
    columns = table.columns
    left, right = st.columns(2)
    id_column = left.selectbox(
        OPTION_WORDS["id"], columns, key=f"upload_id_{job_id}", placeholder="Choose a column",
        index=columns.index(table.id_guess) if table.id_guess in columns else None,
        help="The column that names each customer (unique, never empty).")
    choices = [c for c in columns if c != id_column]
    target = right.selectbox(
        OPTION_WORDS["target"], choices, key=f"upload_target_{job_id}", placeholder="Choose a column",
        index=choices.index(table.target_guess) if table.target_guess in choices else None,
        help="Whether the customer churned: 0/1, yes/no or true/false (empty where not known yet).")
    others = [c for c in choices if c != target]
    aux = left.multiselect(
        OPTION_WORDS["aux"], table.aux_candidates(id_column=id_column, target=target),
        key=f"upload_aux_{job_id}",
        help="Other outcomes the multi-task network learns beside churn (next year's revenue, seat "
             "change...). They are not features, unless also under Keep anyway.")
    keep = right.multiselect(
        OPTION_WORDS["keep"], others, key=f"upload_keep_{job_id}",
        help="Use a column a guard set aside (an id-like number, free text, a leaking column). An aux target "
             "kept here is a present-state value (tenure): a feature of the churn models, and a target only "
             "for the network.")
    exclude = left.multiselect(OPTION_WORDS["exclude"], [c for c in others if c not in keep],
                               key=f"upload_exclude_{job_id}", help="Columns never to use as features.")
    positive = None
    if target is not None:
        values = preview.target_values(frame, target)
        if len(values) > 1:
            positive = right.selectbox(
                OPTION_WORDS["positive"], values, index=None, key=f"upload_positive_{job_id}",
                placeholder="Automatic (yes, true, 1, churned...)",
                help="Only when the churn column's values do not say it themselves.")
    durations = [c for c in table.aux_candidates(id_column=id_column, target=target) if c not in aux]
    duration = left.selectbox(
        OPTION_WORDS["duration"], durations, index=None, key=f"upload_duration_{job_id}",
        placeholder="None: no survival model",
        help="How long each customer has been observed (tenure, in days or months): also train a survival "
             "model of when customers leave, with the churn column as the event.")
    if id_column is None or target is None:
        return None
    return preview.training_spec(columns, id_column=id_column, target=target, aux=aux, keep=keep,
                                 exclude=exclude, positive=positive, duration=duration)


def _guards_table(spec: DataSpec, checked: Schema) -> None:
    rows = [(spec.id_column, "customer id", "no", "the id names customers; it is never a feature"),
            (spec.target, "churn target", "no", f"churned = {checked.positive_label!r}")]
    kept_aux = set(spec.aux_targets) & set(spec.keep)
    rows += [(a, "aux target", "no", "learned by the multi-task network") for a in spec.aux_targets
             if a not in kept_aux]
    rows += [(c.name, str(c.role), "yes" if c.is_feature else "no", c.reason or "") for c in checked.columns]
    used = sum(1 for c in checked.columns if c.is_feature)
    st.markdown(f"**What training will use:** {used} feature columns; "
                f"{len(checked.dropped)} set aside by the guards.")
    st.dataframe(pd.DataFrame(rows, columns=["Column", "Role", "Feature", "Why"]), hide_index=True,
                 column_config={"Why": st.column_config.TextColumn(width="large")})


@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Reading the table…")
def _table(path: str, name: str, mtime: float) -> pd.DataFrame:
    """The uploaded table (shared read-only: a session's own upload, keyed by its path and time)."""
    return preview.read_upload(Path(path), name=name)


@st.cache_resource(max_entries=4, ttl=3600, show_spinner=False)
def _preview(path: str, name: str, mtime: float) -> TablePreview:
    return preview.preview_table(_table(path, name, mtime))


@st.cache_resource(max_entries=32, ttl=3600, show_spinner="Checking the columns…")
def _checked(path: str, name: str, mtime: float, spec_json: str) -> Schema | str:
    """The guards' decisions for this spec, or the message training would fail with."""
    try:
        return preview.check_spec(_table(path, name, mtime), DataSpec.from_dict(json.loads(spec_json)))
    except InputError as e:
        return str(e)


def _forget_drafts(runs_dir: Path, uploads: dict[str, str], *, keep: str | None) -> None:
    """Delete this session's drafts (tables uploaded and replaced or removed before a training started)."""
    for file_id, job_id in list(uploads.items()):
        if job_id == keep:
            continue
        folder = JobFolder(jobs_root(runs_dir) / job_id)
        if folder.path.is_dir() and manager.job_status(folder).state == DRAFT:
            manager.discard(folder)
        del uploads[file_id]


def _stage(stage: str) -> str:
    return stage[:1].upper() + stage[1:]


def _elapsed(start: float | None, end: float | None = None) -> str:
    if start is None:
        return "a moment"
    seconds = max(0, int((end or time.time()) - start))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
