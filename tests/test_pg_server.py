"""tests/pg_server.py: without PostgreSQL's binaries the PostgreSQL tests skip, except under CI, where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pg_server import BINDIR_ENV

NEEDS_SERVER = "def test_needs_postgres(postgres_server):\n    assert postgres_server.port\n"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs_pg.py").write_text(NEEDS_SERVER)
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    base.update(env, PYTHONPATH=str(Path(__file__).parent), **{BINDIR_ENV: str(tmp_path / "no-bin")})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "pg_server", "--noconftest", "-q", "-rs",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path / "test_needs_pg.py")],
                          capture_output=True, text=True, env=base, cwd=tmp_path, timeout=300)


def test_missing_binaries_skip_locally(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout and "make postgresql" in done.stdout


def test_missing_binaries_fail_under_ci(tmp_path: Path) -> None:
    done = _pytest(tmp_path, CI="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout and "CI must run the PostgreSQL tests, never skip them" in done.stdout

