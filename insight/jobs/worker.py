"""`python -m insight.jobs.worker JOB_DIR`: train one uploaded table, outside the dashboard's process.

It reads the job's spec.json, reads the upload as `insight train` reads a file
(insight.jobs.preview.read_upload) and calls the same training entry (insight.pipeline.train), feeding its
progress into status.json; a heartbeat thread rewrites the status every few seconds so that the dashboard can
tell a live worker from a dead one. The run is written by the normal run writer (a hidden `.tmp-*` folder
renamed into place when complete).

SIGTERM (the dashboard's cancel, sent to the worker's process group) raises `Cancelled` in the main thread:
the stack unwinds (the run writer deletes its temporary folder), the status becomes "cancelled" and the
process exits at once, without waiting for model threads still running.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from insight.errors import InputError
from insight.jobs.folder import CANCELLED, DONE, FAILED, RUNNING, JobFolder
from insight.jobs.manager import HEARTBEAT_S

log = logging.getLogger(__name__)

PROGRESS_WRITE_S = 0.5
"""Progress within a stage is written at most this often (a new stage at once)."""


class Cancelled(BaseException):
    """The job was asked to stop (SIGTERM). A BaseException, so that no `except Exception` swallows it."""


class StatusReporter:
    """Keeps the worker's status and writes it: progress from the training, a heartbeat from its thread."""

    def __init__(self, folder: JobFolder) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        now = time.time()
        self.status = folder.stored_status().but(state=RUNNING, pid=os.getpid(), heartbeat=now,
                                                 stage="starting")
        if self.status.started is None:
            self.status = self.status.but(started=now)
        self.written = 0.0
        self._write(force=True)
        self.thread = threading.Thread(target=self._beat, name="insight-job-heartbeat", daemon=True)
        self.thread.start()

    def progress(self, stage: str, done: float) -> None:
        """The pipeline's progress callback: `done` is the share of the whole training."""
        with self.lock:
            new_stage = stage != self.status.stage
            self.status = self.status.but(stage=stage, progress=round(min(1.0, max(0.0, done)), 4))
            self._write(force=new_stage)

    def finish(self, state: str, *, run_id: str | None = None, error: str | None = None) -> None:
        self.stopped.set()
        with self.lock:
            progress = 1.0 if state == DONE else self.status.progress
            self.status = self.status.but(state=state, run_id=run_id, error=error, progress=progress,
                                          finished=time.time())
            self._write(force=True)

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            with self.lock:
                if not self.stopped.is_set():
                    self._write(force=True)

    def _write(self, *, force: bool) -> None:
        now = time.time()
        if not force and now - self.written < PROGRESS_WRITE_S:
            return
        self.status = self.status.but(heartbeat=now)
        self.folder.write_status(self.status)
        self.written = now


def run_job(folder: JobFolder) -> int:
    """Train the job in `folder`; returns the exit code (0 done, 1 failed, 3 cancelled)."""
    reporter = StatusReporter(folder)
    if folder.cancel_requested is not None:  # cancelled while this process was being started
        reporter.finish(CANCELLED)
        return 3
    try:
        from insight.jobs.preview import read_upload
        from insight.pipeline import train

        spec, config = folder.train_spec()
        info = folder.info()
        reporter.progress("reading the table", 0.0)
        frame = read_upload(folder.upload_path, name=info.source_name)
        path = train(frame, spec, config, runs_dir=folder.runs_dir, source_name=info.source_name,
                     progress=reporter.progress)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the run is in place: a late cancel changes nothing
    except Cancelled:
        log.info("job %s cancelled", folder.id)
        reporter.finish(CANCELLED)
        return 3
    except InputError as e:
        log.warning("job %s: %s", folder.id, e)
        reporter.finish(FAILED, error=str(e))
        return 1
    except Exception as e:  # noqa: BLE001 - the page shows a short message; the traceback goes to the log
        log.exception("job %s failed", folder.id)
        reporter.finish(FAILED, error=f"the training failed unexpectedly ({type(e).__name__}: {e}). No run "
                                      "was written; the details are in the job's log.")
        return 1
    log.info("job %s: run %s written", folder.id, path.name)
    reporter.finish(DONE, run_id=path.name)
    return 0


def _cancel(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the unwinding must not be interrupted again
    raise Cancelled()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _cancel)
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        sys.stderr.write("usage: python -m insight.jobs.worker JOB_DIR\n")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("insight").setLevel(logging.INFO)
    code = run_job(JobFolder(Path(argv[0])))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # model threads a cancel interrupted must not hold the process open


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
