"""The two closed-loop TTFT terms fitted per serving-software class: front end and first wave.

The TTFT a closed-loop benchmark measures (:func:`tokenfab.perf.serving.closed_loop_ttft_s`)
adds to the engine's wait for prefill room the time a request spends in the server's front end
(HTTP, tokenisation, scheduling, the first token's stream), ``frontend_ms``, and the first wave
of the run, when every client sends at once: a share ``1 / requests_per_client`` of the
measured requests. Neither is in a step-time measurement, so both are fitted here, per
software class, to the closed-loop TTFT of the calibration runs, within bounds:

* ``frontend_ms`` in [0, :data:`FRONTEND_MS_MAX`]: an engine's front end costs tens to a few
  hundred milliseconds (AIConfigurator charges vLLM 0.8 ms a layer of CPU-side dispatch,
  75 ms for a 94-layer model; ai-dynamo/aiconfigurator@src/aiconfigurator/sdk/backends/
  vllm_backend.py ``_prefill_dispatch_overhead_ms``);
* ``requests_per_client`` in [1, :data:`REQUESTS_PER_CLIENT_MAX`]: genai-perf sweeps commonly
  send ``--request-count`` = 10 x the concurrency (e.g. BennielAllan/benchmark@GenAI-Perf/
  examples/deepseek_r1/16k-b64.sh).

A prediction is affine in the two terms' values (front end ``F`` and first-wave share ``f``):
``p = a + b F + c f`` per run, with ``a``, ``b`` and ``c`` from three evaluations of the
model (:func:`coefficients`); the fit is then a grid search over the bounded box minimising the
mean absolute log error of each class's runs. The run path reads the result from
``data/closed_loop.csv`` (:func:`tokenfab.perf.calibration.closed_loop_terms`) and never
imports this module.
"""

from __future__ import annotations

import csv
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tokenfab.calibrate import adapter, fit
from tokenfab.calibrate.groups import grouped_folds
from tokenfab.fileio import atomic_output, check_output_folder

FRONTEND_MS_MAX = 250.0
"""Upper bound of the fitted front end [ms]."""

REQUESTS_PER_CLIENT_MAX = 50.0
"""Upper bound of the fitted requests a client sends in a run [-]."""

MIN_RUNS = 20
"""Fewest closed-loop runs a software class needs for its own terms; a class with fewer takes
the medians of the others' (as the run path does for a class without a row)."""

FRONTEND_GRID_MS = np.arange(0.0, FRONTEND_MS_MAX + 0.5, 1.0)
REQUESTS_GRID = np.array([*range(1, 21), 25.0, 30.0, 40.0, REQUESTS_PER_CLIENT_MAX])

COLUMNS = (
    "id",
    "frontend_ms",
    "requests_per_client",
    "runs",
    "median_abs_error_before",
    "median_abs_error",
    "source",
    "as_of",
    "notes",
)


def targets(prep: adapter.Prepared) -> NDArray:
    """Mask of the targets the two terms act on: TTFT under closed-loop concurrency."""
    fitted = np.ones(prep.size, dtype=bool) if prep.fitted is None else prep.fitted
    return ~fitted & (prep.metric == "ttft_s")


def coefficients(
    prep: adapter.Prepared, factors: dict[str, NDArray]
) -> tuple[NDArray, NDArray, NDArray]:
    """``(a, b, c)`` of every target: its prediction is ``a + b F + c f`` for a front end
    ``F`` [s] and a first-wave share ``f`` (``b = c = 0`` for the targets the terms do not touch).
    """

    def at(frontend_s: float, share: float) -> NDArray:
        arrays = replace(
            prep.arrays,
            frontend_s=np.full(prep.size, frontend_s),
            first_wave_share=np.full(prep.size, share),
        )
        return adapter.predict(replace(prep, arrays=arrays), factors)

    a = at(0.0, 0.0)
    return a, at(1.0, 0.0) - a, at(0.0, 1.0) - a


def fit_terms(a: NDArray, b: NDArray, c: NDArray, measured: NDArray) -> tuple[float, float, float]:
    """``(frontend_ms, requests_per_client, mean abs log error)`` of one class's runs: the grid
    point of the bounded box with the least mean ``|ln(predicted / measured)|``.

    >>> a = np.array([0.1, 0.2]); b = np.ones(2); c = np.array([0.5, 1.0])
    >>> fit_terms(a, b, c, a + 0.05 + c / 10)[:2]  # 50 ms, a first wave of 1/10
    (50.0, 10.0)
    """
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & (measured > 0)
    a, b, c, y = a[ok], b[ok], c[ok], np.log(measured[ok])
    best = (0.0, 1.0, np.inf)
    for per_client in REQUESTS_GRID:
        pred = a[None, :] + b[None, :] * FRONTEND_GRID_MS[:, None] / 1e3 + c[None, :] / per_client
        loss = np.mean(np.abs(np.log(np.maximum(pred, 1e-12)) - y[None, :]), axis=1)
        j = int(np.argmin(loss))
        if loss[j] < best[2]:
            best = (float(FRONTEND_GRID_MS[j]), float(per_client), float(loss[j]))
    return best


def fit_by_class(
    coef: tuple[NDArray, NDArray, NDArray],
    measured: NDArray,
    software: NDArray,
    rows: NDArray,
) -> dict[str, tuple[float, float]]:
    """``{software class: (frontend_ms, requests_per_client)}`` fitted on the targets ``rows``
    (a mask or indices); a class with fewer than :data:`MIN_RUNS` runs there is absent."""
    a, b, c = coef
    idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
    out: dict[str, tuple[float, float]] = {}
    for sw in np.unique(software[idx]):
        k = idx[software[idx] == sw]
        if k.size < MIN_RUNS:
            continue
        f_ms, per_client, _ = fit_terms(a[k], b[k], c[k], measured[k])
        out[str(sw)] = (f_ms, per_client)
    return out


def apply(
    coef: tuple[NDArray, NDArray, NDArray],
    software: NDArray,
    terms: dict[str, tuple[float, float]],
) -> NDArray:
    """Predictions with each class's terms (a class without terms: the medians of the others,
    as the run path does)."""
    a, b, c = coef
    spare = (
        (
            float(np.median([t[0] for t in terms.values()])),
            float(np.median([t[1] for t in terms.values()])),
        )
        if terms
        else (0.0, np.inf)
    )
    f_ms = np.array([terms.get(str(s), spare)[0] for s in software])
    per_client = np.array([terms.get(str(s), spare)[1] for s in software])
    return a + b * f_ms / 1e3 + c / per_client


def cross_validate(
    prep: adapter.Prepared,
    keys: Sequence[Hashable],
    holdout: NDArray,
    k: int | None = 5,
    measured: dict[str, dict[str, float]] | None = None,
    rows: NDArray | None = None,
) -> NDArray:
    """Held-out prediction of every target, as :func:`tokenfab.calibrate.fit.cross_validate`,
    with the closed-loop terms refitted in each fold too: a held-out closed-loop TTFT uses
    efficiency factors and terms that never saw its group. ``rows``: the closed-loop targets the
    terms are fitted on (default: all of them)."""
    holdout = np.asarray(holdout)
    if k is None:
        folds = [np.flatnonzero(holdout == g) for g in np.unique(holdout)]
    else:
        folds = grouped_folds(holdout, k)
    loop = targets(prep) if rows is None else np.asarray(rows) & targets(prep)
    software = prep.arrays.software
    out = np.full(prep.size, np.nan)
    everything = np.arange(prep.size)
    for test in folds:
        train = np.setdiff1d(everything, test)
        if prep.fit_rows(train).size == 0:
            continue
        f = fit.fit(prep, keys, train, measured)
        coef = coefficients(prep, f.factors_for(keys))
        terms = fit_by_class(coef, prep.measured, software, train[loop[train]])
        out[test] = apply(tuple(x[test] for x in coef), software[test], terms)
    return out


def closed_loop_rows(
    coef: tuple[NDArray, NDArray, NDArray],
    measured: NDArray,
    software: NDArray,
    rows: NDArray,
) -> list[dict[str, object]]:
    """One ``data/closed_loop.csv`` row a software class, fitted on the targets ``rows``."""
    terms = fit_by_class(coef, measured, software, rows)
    a = coef[0]
    pred = apply(coef, software, terms)
    out = []
    for sw, (f_ms, per_client) in sorted(terms.items()):
        k = np.asarray(rows) & (software == sw)
        out.append(
            {
                "id": sw,
                "frontend_ms": f_ms,
                "requests_per_client": per_client,
                "runs": int(k.sum()),
                "median_abs_error_before": round(
                    float(np.median(fit.abs_error(a[k], measured[k]))), 4
                ),
                "median_abs_error": round(float(np.median(fit.abs_error(pred[k], measured[k]))), 4),
            }
        )
    return out


def write_closed_loop(out: Path, rows: list[dict[str, object]], source: str) -> Path:
    """Write ``out/closed_loop.csv`` (the ``closed-loop`` catalog)."""
    out = check_output_folder(out)  # a new folder, never a missing parent
    out.mkdir(exist_ok=True)
    path = out / "closed_loop.csv"
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    **r,
                    "source": source,
                    "as_of": date.today().isoformat(),
                    "notes": f"grid fit within frontend_ms 0-{FRONTEND_MS_MAX:g} and "
                    f"requests_per_client 1-{REQUESTS_PER_CLIENT_MAX:g} (least mean |ln "
                    "predicted/measured|, tokenfab.calibrate.closed_loop); errors in sample",
                }
            )
    return path
