"""Customer Insight dashboard: `streamlit run app.py` (or `insight serve`).

Page config, logo, navigation over the files in pages/ and the shared sidebar (the run picker); each page
shows the states without a usable run itself (see insight/ui/shell.py).
"""

from __future__ import annotations

from insight.ui import guard, shell

page = shell.navigation()
choice = shell.run_sidebar()
with shell.inside_app(choice), guard.page_guard(page.title):
    page.run()
