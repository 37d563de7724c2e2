"""Calibration against measured serving runs: importers, grouped cross-validation, the fit.

Nothing on the run path imports this package: ``tokenfab calibrate`` and ``bench/`` do. The run
path reads fitted factors from ``data/efficiency.csv`` (or a user catalog directory).

Modules
-------
records    the typed :class:`~tokenfab.calibrate.records.Measurement` and name resolution
importers  one reader per result format (vLLM, SGLang, genai-perf/aiperf, AIConfigurator CSV,
           measured_throughput.csv, the generic CSV); bad records are reported, never dropped
groups     grouping keys and grouped folds for cross-validation
adapter    the one function that calls the perf model's vectorised prediction
fit        the bounded per-group optimiser and the grouped cross-validation driver
"""
