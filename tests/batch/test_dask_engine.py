"""insight.batch.dask_engine: the LocalCluster listens on 127.0.0.1 only and keeps out of the command's output;
an unreachable scheduler is an input error at once."""

from __future__ import annotations

import logging
import socket
import sys
import types

import psutil
import pytest

from insight.batch.dask_engine import dask_client
from insight.errors import InputError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_local_cluster_listens_on_127_0_0_1_only_and_its_workers_print_nothing_into_stdout(
        capfd: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with pytest.MonkeyPatch.context() as patch:  # spawned workers re-run __main__ (see tests/conftest.py)
        patch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        with dask_client(None, workers=1) as client:
            patch.undo()
            workers = psutil.Process().children(recursive=True)
            pids = {psutil.Process().pid, *(p.pid for p in workers)}
            listening = [c.laddr for c in psutil.net_connections(kind="inet")
                         if c.status == psutil.CONN_LISTEN and c.pid in pids]
            assert client.submit(print, "printed on a worker", pure=False).result() is None
            assert client.dashboard_link.startswith("http://127.0.0.1:")
    assert len(listening) >= 3  # scheduler, its HTTP endpoint, the worker (and its nanny)
    assert {address.ip for address in listening} == {"127.0.0.1"}
    assert "printed on a worker" not in capfd.readouterr().out


def test_an_unreachable_scheduler_is_an_input_error_at_once() -> None:
    port = free_port()
    with pytest.raises(InputError, match=f"could not connect to the Dask scheduler at tcp://127.0.0.1:{port}"):
        with dask_client(f"tcp://127.0.0.1:{port}"):
            pass
    with pytest.raises(InputError, match="not an address like tcp://host:8786"):
        with dask_client("tcp://127.0.0.1"):
            pass
