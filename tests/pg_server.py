"""A real PostgreSQL server for the tests: its own cluster (initdb + pg_ctl) in a temp folder, on 127.0.0.1 and a
free port, with a password-authenticated role, started once per session and stopped at the end.

The binaries come from `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin (Debian's `postgresql`
package; `make postgresql` installs it). initdb refuses to run as root, so as root the cluster belongs to the
`postgres` user (`runuser -u postgres --`). Without the binaries the tests skip, except where the environment
variable CI is set: there they fail, so that CI never passes without the round trip.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

USER, DATABASE = "insight_test", "shop"
BINDIR_ENV = "INSIGHT_TEST_PG_BINDIR"
"""Look for the binaries only in this folder (tests/test_pg_server.py points it at an empty one)."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    admin_password: str

    def url(self, *, table: str | None = None, password: bool = True, database: str | None = None) -> str:
        """postgresql://USER:PASSWORD@127.0.0.1:PORT/DATABASE[?table=NAME] (without the password: libpq's
        PGPASSWORD or ~/.pgpass must supply it)."""
        secret = f":{quote(self.password, safe='')}" if password else ""
        tail = f"?table={table}" if table else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{database or self.database}{tail}"

    def engine(self):  # noqa: ANN201 - a SQLAlchemy engine for setting up and reading back tables
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        return sa.create_engine(self.url().replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)


def postgres_bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres are, or None."""
    candidates: list[str] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(os.environ[BINDIR_ENV])
    elif shutil.which("pg_config"):
        try:
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                             check=True, timeout=30).stdout.strip())
        except (subprocess.SubprocessError, OSError):
            pass
    if not os.environ.get(BINDIR_ENV):
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
                             if p.split("/")[-2].isdigit() else 0, reverse=True)
    for folder in candidates:
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        message = ("PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found: install Debian's "
                   "postgresql package (`make postgresql`).")
        if os.environ.get("CI"):
            pytest.fail(message + " CI must run the PostgreSQL tests, never skip them.")
        pytest.skip(message)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("running as root needs runuser to start PostgreSQL as the postgres user.")
    root = Path(tempfile.mkdtemp(prefix="insight-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    admin_password, password = "adm" + secrets.token_hex(12), "pw" + secrets.token_hex(12)
    (root / "pwfile").write_text(admin_password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        for child in root.iterdir():
            shutil.chown(child, "postgres", "postgres")
    port = _free_port()
    run = lambda *args: subprocess.run(_as_owner([str(a) for a in args]), capture_output=True, text=True,  # noqa: E731
                                       timeout=120, cwd=root)
    init = run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={root / 'pwfile'}",
               "--encoding=UTF8", "--locale=C", "--no-sync")
    if init.returncode != 0:
        pytest.fail(f"initdb failed: {init.stdout}{init.stderr}")
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sockets} -c fsync=off "
               "-c full_page_writes=off -c synchronous_commit=off -c max_connections=40")
    start = run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w", "-t", "60", "start")
    if start.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        pytest.fail(f"pg_ctl start failed: {start.stdout}{start.stderr}{log}")
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=admin_password,
                             dbname="postgres", autocommit=True) as con:
            con.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'")
            con.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield PostgresServer(host="127.0.0.1", port=port, user=USER, password=password, database=DATABASE,
                             admin_password=admin_password)
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
