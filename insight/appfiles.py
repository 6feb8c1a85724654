"""Where the dashboard's files are: app.py, pages/, assets/ and the .streamlit/config.toml beside app.py.

An installed wheel holds them inside the package, as `insight/_app/` (pyproject.toml maps the source tree's
top-level app.py, pages/, assets/ and .streamlit/ there). A source checkout (an editable install, or
`insight` imported from the project folder) has no `insight/_app/`: there the files are the project's own,
beside the `insight/` folder, so that edits show without reinstalling.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

APP_SCRIPT = "app.py"
PACKAGED = "_app"


def app_folder() -> Path:
    """The folder holding app.py, pages/ and assets/; FileNotFoundError when neither layout has them."""
    packaged = resources.files("insight") / PACKAGED
    if packaged.joinpath(APP_SCRIPT).is_file():
        if not isinstance(packaged, Path):  # e.g. a zipped install: Streamlit needs real files
            raise FileNotFoundError(f"the dashboard is inside {packaged}, which is not a folder on disk; "
                                    "install customer-insight as a regular (unzipped) package.")
        return packaged
    source = Path(str(resources.files("insight"))).parent
    if (source / APP_SCRIPT).is_file() and (source / "pages").is_dir():
        log.debug("dashboard files from the source checkout %s", source)
        return source
    raise FileNotFoundError(f"cannot find the dashboard ({APP_SCRIPT}) in the installed package "
                            f"({packaged}) or in a source checkout ({source}); reinstall customer-insight.")


def app_script() -> Path:
    """The dashboard's main script, to give `streamlit run`."""
    return app_folder() / APP_SCRIPT
