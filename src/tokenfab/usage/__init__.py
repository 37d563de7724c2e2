"""Usage analytics on request logs: adapters, synthetic logs, analyses as Ibis expressions.

The analyses are written once as Ibis expressions, so they run unchanged on DuckDB (the
default, in-process engine) and on any Ibis backend (Spark, Trino, BigQuery, ClickHouse,
Snowflake). ``tokenfab usage synth|report|whatif`` and ``tokenfab export-prices`` call them.
"""
