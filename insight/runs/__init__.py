"""A training run on disk and everything that reads it: the run folder (atomic writer, manifest, verification),
the DuckDB store the dashboard queries, and spreadsheet-safe export."""
