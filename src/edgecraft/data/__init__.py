"""Market data in: file and exchange sources, schema validation, the local Parquet/DuckDB store."""
