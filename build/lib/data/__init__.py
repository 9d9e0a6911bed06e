"""Data: reference geography, batch files, the DuckDB store and generators."""
