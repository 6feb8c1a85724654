"""Fixtures shared by the AppTest modules: a runs folder per module, and the app's deferred downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runkit import runs_folder


@pytest.fixture(scope="module")
def app_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, telco_run: Path) -> Path:
    """A runs folder of the module's own holding copies of both runs (so runs other tests write into the
    shared folder cannot change which run is the latest here); LATEST points at the Telco run."""
    return runs_folder(tmp_path_factory.mktemp("app-runs"), demo_run, telco_run, latest=telco_run)


@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """The data callables of the app's deferred download buttons, by file name, captured as Streamlit's
    media file manager registers them (and still registered there): a browser's click runs exactly these.
    AppTest has no other way to read a deferred download."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    captured: dict[str, Callable[[], Any]] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data_callable: Callable[[], Any], *args: Any,
                     **kwargs: Any) -> str:
        captured[kwargs.get("file_name") or str(args[2] if len(args) > 2 else "")] = data_callable
        return register(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return captured
