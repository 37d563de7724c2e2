"""``tokenfab calibrate``: read measurements, fit, report held-out error, write a catalog.

:func:`calibrate` does the work and returns a :class:`Report`; ``calibrate/cli.py`` only
parses options and renders it.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from tokenfab.calibrate import adapter, closed_loop, fit, groups
from tokenfab.calibrate.bands import band_counts, band_rows, bands_summary, write_bands
from tokenfab.calibrate.importers import check_defaults, read_files
from tokenfab.calibrate.records import Issue, Measurement, MeasurementFileError
from tokenfab.catalog import Catalog
from tokenfab.fileio import atomic_output, check_output_folder
from tokenfab.perf.calibration import BLOCK_FP8_EFFICIENCY
from tokenfab.words import plural

EFFICIENCY_COLUMNS = (
    "id",
    "family",
    "software",
    "compute_efficiency",
    "compute_efficiency_8bit",
    "compute_efficiency_4bit",
    "compute_efficiency_8bit_block",
    *(f for f in fit.FACTORS if f != "compute_efficiency"),
    "rows_fitted",
    "cv_median_abs_error",
    "cv_max_abs_error",
    "models_fitted",
    "source",
    "as_of",
    "notes",
)


@dataclass
class GroupReport:
    """One fitted (accelerator family, software class) group."""

    family: str
    software: str
    runs: int
    targets: int
    before: float  # median |error| with the factors the catalog had
    held_out: float | None  # median |error| held out by configuration (None: one config)
    factors: dict[str, float]
    models: list[str] = field(default_factory=list)  # model ids of the runs fitted


@dataclass
class Report:
    """What ``tokenfab calibrate`` read, fitted and measured."""

    runs: int
    issues: list[Issue]
    not_expressed: Counter
    targets: int
    before: dict[str, float]  # metric -> median |error| with the catalog's factors
    held_out_config: dict[str, float]  # metric -> median |error|, folds by configuration
    held_out_family: dict[str, float]  # metric -> median |error|, leave one model family out
    groups: list[GroupReport] = field(default_factory=list)
    written: Path | None = None
    # each (split, metric) band: its held-out values and whether it was written
    # (calibrate.bands.band_counts), and the line saying which the built-in table keeps
    bands: list[dict[str, object]] = field(default_factory=list)
    bands_note: str | None = None
    # records whose stated layout holds more weights than the accelerator's memory
    # (adapter.weights_beyond_memory): fitted as stated, named in the warnings
    beyond_memory: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What the numbers say about trusting the fit (:func:`fit_warnings`), and the records
        whose stated layout cannot hold the model's weights."""
        out = fit_warnings(self.before, self.held_out_config, self.held_out_family, self.groups)
        if self.beyond_memory:
            n = len(self.beyond_memory)
            out.append(
                f"{plural(n, 'run')} {'states' if n == 1 else 'state'} a layout that cannot "
                "hold the model's weights (a layout column is wrong, or a blank was read as "
                f"1); fitted as stated. First: {self.beyond_memory[0]}. Correct tp / pp / "
                f"moe_ep (or give --tp ...) or drop {'it' if n == 1 else 'them'}"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "warnings": self.warnings,
            "runs": self.runs,
            "records_not_used": [str(i) for i in self.issues],
            "not_expressed": dict(self.not_expressed),
            "targets": self.targets,
            "median_abs_error_before": self.before,
            "median_abs_error_held_out_by_configuration": self.held_out_config,
            "median_abs_error_leave_one_model_family_out": self.held_out_family,
            "groups": [g.__dict__ for g in self.groups],
            "written": str(self.written) if self.written else None,
            "error_bands": self.bands,
            "error_bands_note": self.bands_note,
        }


def fit_warnings(
    before: Mapping[str, float],
    held_out_config: Mapping[str, float],
    held_out_family: Mapping[str, float],
    groups: Sequence[GroupReport],
) -> list[str]:
    """Warnings on a fit, each with what to do; empty when none applies.

    - A group with fewer runs than the factors it fits (``len(fit.FACTORS)``, 8): its
      factors lean on the bounds and the pull towards the other groups, not on its runs.
    - The median error held out by configuration (over all fitted metrics, ``all``) above the
      median error of the catalog's factors on the same runs ("before"): the fit predicts
      runs it did not see worse than the built-in factors do. Groups where the same holds are
      named.

    Examples
    --------
    >>> g = GroupReport("blackwell", "trtllm", 2, 2, 0.097, 0.945, {})
    >>> for w in fit_warnings({"all": 0.147}, {"all": 0.165}, {}, [g]):
    ...     print(w[:78])
    too few runs for the 8 factors a group fits: blackwell/trtllm 2; those factors
    the fit predicts runs it did not see worse than the built-in factors: median e
    """
    out: list[str] = []
    k = len(fit.FACTORS)
    few = [g for g in groups if g.runs < k]
    if few:
        names = ", ".join(f"{g.family}/{g.software} {g.runs}" for g in few)
        out.append(
            f"too few runs for the {k} factors a group fits: {names}; those factors rest on "
            "the bounds and the other groups, not on measurement. Keep the built-in factors "
            "for these groups (use no --out catalog, or delete their rows from its "
            f"efficiency.csv), or measure at least {k} runs a group across batch sizes and "
            "prompt lengths"
        )
    b, a = before.get("all"), held_out_config.get("all")
    if b is not None and a is not None and a > b:
        fam = held_out_family.get("all")
        also = f"; leave one model family out {fam:.1%}" if fam is not None else ""
        worse = [g for g in groups if g.held_out is not None and g.held_out > g.before]
        where = (
            " (by group: "
            + ", ".join(
                f"{g.family}/{g.software} {g.held_out:.1%} against {g.before:.1%}" for g in worse
            )
            + ")"
            if worse
            else ""
        )
        out.append(
            "the fit predicts runs it did not see worse than the built-in factors: median "
            f"error {a:.1%} held out by configuration against {b:.1%} before{also}{where}. "
            "Keep the built-in factors: do not pass the --out catalog with --catalog"
        )
    return out


def _medians(err: np.ndarray, metric: np.ndarray) -> dict[str, float]:
    """Median |error| per metric label and over the fitted ones (``all``); TTFT under
    closed-loop concurrency (``ttft_s_concurrent``, predicted, never fitted) is apart."""
    labels = (*adapter.METRICS, "ttft_s_concurrent")
    out = {m: float(np.nanmedian(err[metric == m])) for m in labels if (metric == m).any()}
    fitted = metric != "ttft_s_concurrent"
    if fitted.any() and not np.all(np.isnan(err[fitted])):
        out["all"] = float(np.nanmedian(err[fitted]))
    return out


def calibrate(
    paths: Sequence[str | Path],
    catalog: Catalog,
    out: Path | None,
    fmt: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    folds: int = 5,
) -> Report:
    """Fit the factors to the measurements in ``paths`` and write ``out/efficiency.csv``.

    Raises
    ------
    MeasurementFileError
        If a file cannot be read, or no run can be expressed by the model; or an option
        default names an unknown model, accelerator or format.
    """
    check_defaults(defaults or {}, catalog)
    kept, issues = read_files(paths, catalog, fmt, defaults)
    if not kept and not issues:  # an empty file, or a header without rows: nothing to fit
        raise MeasurementFileError(
            f"calibrate: {', '.join(str(p) for p in paths)} hold(s) no runs (no records, or a "
            "header without rows); give files with at least one measured run"
        )
    if not kept:
        raise MeasurementFileError(
            f"calibrate: none of {plural(sum(1 for _ in paths), 'file')} gave a usable run "
            f"({plural(len(issues), 'record')} not used; first: {issues[0]})"
        )
    try:
        prep = adapter.prepare(kept, catalog)
    except ValueError as exc:
        raise MeasurementFileError(f"calibrate: {exc}") from None
    ms: list[Measurement] = [kept[r] for r in prep.record]
    keys = [fit.factor_key_family_software_rate(m, catalog) for m in ms]
    bounds = fit.measured_bounds(catalog)

    before_pred = adapter.predict(prep, adapter.stored_factors(prep, catalog))
    before_err = fit.abs_error(before_pred, prep.measured)

    cfg = groups.group_ids([groups.config_key(m) for m in ms])
    fam = groups.group_ids([groups.model_family(m.model) for m in ms])
    # aggregated closed-loop TTFT: the closed-loop terms (front end, first wave) are fitted to
    # it, refitted in every fold (tokenfab.calibrate.closed_loop)
    agg = np.array([m.mode == "agg" for m in ms])
    loop_rows = agg & closed_loop.targets(prep)
    cv_err = np.full(prep.size, np.nan)
    held: dict[str, np.ndarray] = {}
    splits: dict[str, list[np.ndarray]] = {}
    if np.unique(cfg).size >= 2:
        held["configuration"] = closed_loop.cross_validate(
            prep, keys, cfg, k=folds, measured=bounds, rows=loop_rows
        )
        splits["configuration"] = groups.grouped_folds(cfg, folds)
        cv_err = fit.abs_error(held["configuration"], prep.measured)
    fam_err = np.full(prep.size, np.nan)
    if np.unique(fam).size >= 2:
        held["model_family"] = closed_loop.cross_validate(
            prep, keys, fam, k=None, measured=bounds, rows=loop_rows
        )
        splits["model_family"] = [np.flatnonzero(fam == g) for g in np.unique(fam)]
        fam_err = fit.abs_error(held["model_family"], prep.measured)

    final = fit.fit(prep, keys, measured=bounds)
    label = (
        prep.metric
        if prep.fitted is None
        else np.where(prep.fitted, prep.metric, "ttft_s_concurrent")
    )
    keys_arr = catalog_keys(keys)
    # the catalog's held-out columns: fitted metrics only (closed-loop TTFT is reported apart)
    cv_fitted = cv_err if prep.fitted is None else np.where(prep.fitted, cv_err, np.nan)
    reports = group_reports(final, keys, prep, before_err, cv_fitted, ms)
    report = Report(
        runs=len(kept),
        issues=issues,
        not_expressed=Counter(r for _, r in prep.skipped),
        targets=prep.size,
        before=_medians(before_err, label),
        held_out_config=_medians(cv_err, label) if not np.all(np.isnan(cv_err)) else {},
        held_out_family=_medians(fam_err, label) if not np.all(np.isnan(fam_err)) else {},
        groups=reports,
        beyond_memory=adapter.weights_beyond_memory(prep, kept),
    )
    if out is not None:
        report.written = write_catalog(out, reports, cv_fitted, keys_arr, paths)
        # bands of the fitted metrics and of closed-loop TTFT (ttft_s_concurrent)
        bands = band_rows(held, splits, prep.measured, label, agg)
        if bands:  # the built-in bands stay for the splits these runs cannot measure
            names = ", ".join(Path(p).name for p in paths)
            write_bands(out, bands, f"tokenfab calibrate: held-out residuals of {names}")
        # which bands these runs could not give (fewer than 5 held-out values): said here, and
        # by every estimate with this catalog that shows the built-in one instead
        report.bands = band_counts(held, label, agg)
        report.bands_note = bands_summary(report.bands, out)
        coef = closed_loop.coefficients(prep, final.factors_for(keys))
        loop = closed_loop.closed_loop_rows(coef, prep.measured, prep.arrays.software, loop_rows)
        if loop:  # a class with too few closed-loop runs keeps the built-in terms
            names = ", ".join(Path(p).name for p in paths)
            closed_loop.write_closed_loop(
                out, loop, f"fitted by tokenfab calibrate to the closed-loop TTFT of {names}"
            )
    return report


def catalog_keys(keys: Sequence[tuple[str, ...]]) -> np.ndarray:
    """``family|software`` of each target's factor group (its catalog row), the matrix rate
    of a rate-split key (:func:`tokenfab.calibrate.fit.rate_of`) left out."""
    return np.array(["|".join(map(str, fit.tie_group(k))) for k in keys])  # type: ignore[arg-type]


def group_reports(
    final: fit.Fit,
    keys: Sequence[tuple[str, ...]],
    prep: adapter.Prepared,
    before_err: np.ndarray,
    cv_err: np.ndarray,
    ms: Sequence[Measurement],
) -> list[GroupReport]:
    """One report per fitted aggregated (family, software class) group: the catalog rows.

    Groups split by matrix rate (:func:`tokenfab.calibrate.fit.factor_key_family_software_rate`)
    make one row, with a compute efficiency per rate (``compute_efficiency``,
    ``compute_efficiency_8bit``, ``compute_efficiency_4bit``, and on chips without block-scale
    tensor cores ``compute_efficiency_8bit_block``). A disaggregated decode pool's
    group (``fit.partition`` "disagg") has no catalog row."""
    keys_arr = catalog_keys(keys)
    # the block-scaled FP8 column only where the group has such runs: a family whose tensor
    # cores apply block scales never reads it, and a blank one reads as the 8-bit column
    measured_rates: dict[tuple[str, ...], set[str | None]] = {}
    for k in keys:
        measured_rates.setdefault(tuple(map(str, fit.tie_group(k))), set()).add(fit.rate_of(k))
    rows_of: dict[tuple[str, ...], dict[str, float]] = {}
    for g, factors in sorted(final.groups.items(), key=lambda kv: str(kv[0])):
        if fit.partition(g) != "agg":
            continue
        tied = tuple(map(str, fit.tie_group(g)))  # type: ignore[arg-type]
        rate = fit.rate_of(g)
        if rate == BLOCK_FP8_EFFICIENCY and rate not in measured_rates.get(tied, set()):
            continue
        row = rows_of.setdefault(tied, {})
        row.update({k: v for k, v in factors.items() if rate is None or k != "compute_efficiency"})
        if rate is not None:
            row[rate] = factors["compute_efficiency"]
    reports = []
    for g, factors in sorted(rows_of.items()):
        # runs at other rates only: the 16-bit column (required) takes their value
        # (the first rate fitted: a file of FP4 or block-scaled FP8 runs only has no 8-bit one)
        fitted_rates = [
            factors[rate]
            for rate in (
                "compute_efficiency_8bit",
                "compute_efficiency_4bit",
                "compute_efficiency_8bit_block",
            )
            if rate in factors
        ]
        factors.setdefault("compute_efficiency", fitted_rates[0] if fitted_rates else float("nan"))
        rows = keys_arr == "|".join(g)
        if prep.fitted is not None:
            rows &= prep.fitted  # the targets the group was fitted to
        if not rows.any():
            continue
        held = cv_err[rows]
        reports.append(
            GroupReport(
                family=str(g[0]),
                software=str(g[1]),
                runs=len({int(r) for r in prep.record[rows]}),
                targets=int(rows.sum()),
                before=float(np.median(before_err[rows])),
                held_out=None if np.all(np.isnan(held)) else float(np.nanmedian(held)),
                factors={k: round(v, 4) for k, v in factors.items()},
                models=sorted({ms[i].model for i in np.flatnonzero(rows)}),
            )
        )
    return reports


def write_catalog(
    out: Path,
    reports: list[GroupReport],
    cv_err: np.ndarray,
    keys_arr: np.ndarray,
    paths: Sequence[str | Path],
    source: str | None = None,
) -> Path:
    """Write ``out/efficiency.csv``: one row per fitted group, ids ``<family>-<software>``
    (the built-in ids, so ``--catalog out`` replaces those rows)."""
    out = check_output_folder(out)  # a new folder, never a missing parent
    out.mkdir(exist_ok=True)
    path = out / "efficiency.csv"
    names = ", ".join(Path(p).name for p in paths)
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=EFFICIENCY_COLUMNS)
        w.writeheader()
        for g in reports:
            held = cv_err[keys_arr == f"{g.family}|{g.software}"]
            have = not np.all(np.isnan(held))
            w.writerow(
                {
                    "id": f"{g.family}-{g.software}",
                    "family": g.family,
                    "software": g.software,
                    **g.factors,
                    "rows_fitted": g.targets,
                    "cv_median_abs_error": round(float(np.nanmedian(held)), 4) if have else "",
                    "cv_max_abs_error": round(float(np.nanmax(held)), 4) if have else "",
                    "models_fitted": ";".join(g.models),
                    "source": source
                    or f"fitted by tokenfab calibrate to {g.runs} measured runs in {names}",
                    "as_of": date.today().isoformat(),
                    "notes": "bounded least-squares (tokenfab.calibrate.fit); cv columns: "
                    "held out by configuration",
                }
            )
    return path
