"""One self-contained HTML report of a run (insight report, the dashboard's download)."""
