"""Upload and train: an analyst uploads a customer table, checks how each column will be used, and trains a
run in the background; the run then appears in the run picker."""

from __future__ import annotations

from insight.ui import access, shell, upload, widgets

with shell.runless_page("Upload and train") as runs_dir:
    access.require("upload")
    access.require("train")
    widgets.page_header(
        "Upload and train",
        "Upload a table with one row per customer, choose its id and churn columns, and train a run on it. "
        "Training runs on the server in the background: you can leave this page, and the run appears in the "
        "run picker when it is ready.")
    user = access.current_user()
    owner = user.email or "local analyst"
    upload.upload_form(runs_dir, owner)
    upload.jobs_panel(runs_dir, owner)
