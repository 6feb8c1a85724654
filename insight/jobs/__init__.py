"""Trainings started from the dashboard, run in worker processes outside the Streamlit script.

    folder.py    a job's folder under <runs_dir>/.jobs/<job_id>/: its files and their JSON, written atomically
    manager.py   create an upload, start its training, cancel it, read its status (a dead worker is failed)
    worker.py    `python -m insight.jobs.worker JOB_DIR`: the training itself (insight.pipeline.train)
    preview.py   what the upload page shows before training: roles, the guards' decisions, the spec checked

A job lives where the runs live (never in the project folder); the run it trains is written by the normal
run writer (a hidden `.tmp-*` folder renamed into place), so a cancelled or killed training leaves no half
run.
"""
