"""Error bands: quantiles of held-out residuals, their coverage on folds they never saw, and the
band an estimate carries (keyed by how far it is from the calibration data)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from tokenfab.calibrate.bands import band_rows, holdout_coverage, quantile_band, write_bands
from tokenfab.catalog import Catalog, builtin_dir
from tokenfab.perf.calibration import choose_engine, error_band
from tokenfab.perf.operating import estimate
from tokenfab.scenario import Scenario


def test_quantile_band_is_the_central_share():
    # 5th and 95th percentiles of 1..101 with linear interpolation: 6 and 96
    lo, hi = quantile_band(np.arange(1.0, 102.0), 0.9)
    assert (lo, hi) == pytest.approx((6.0, 96.0))


def test_holdout_coverage_of_exchangeable_residuals_is_near_nominal():
    # invariant: when every fold's residuals come from the same distribution, a 90% band taken
    # from the other folds covers ~90% of a fold (binomial sd over 2,000 runs: ~0.7 points)
    rng = np.random.default_rng(7)
    ratio = np.exp(rng.normal(0.0, 0.2, 2000))
    folds = np.array_split(rng.permutation(2000), 10)
    assert holdout_coverage(ratio, folds, 0.9) == pytest.approx(0.9, abs=0.025)


def test_holdout_coverage_falls_when_a_fold_is_unlike_the_others():
    # one fold measured 3x its prediction while the others are near 1: its runs all fall
    # outside a band taken from the others, and the others' bands stretch to cover it
    ratio = np.r_[np.full(90, 1.0) + np.linspace(-0.05, 0.05, 90), np.full(10, 3.0)]
    folds = [np.arange(k * 10, k * 10 + 10) for k in range(10)]
    assert holdout_coverage(ratio, folds, 0.9) <= 0.9


def test_band_rows_per_split_and_metric(tmp_path):
    # 20 TPOT runs measured 10% above their held-out prediction: band 1.1 to 1.1
    measured = np.full(20, 1.1)
    predicted = {"configuration": np.ones(20)}
    folds = {"configuration": np.array_split(np.arange(20), 5)}
    rows = band_rows(predicted, folds, measured, np.array(["tpot_s"] * 20), np.ones(20, bool), 0.9)
    assert len(rows) == 1
    r = rows[0]
    assert (r["split"], r["metric"], r["residuals"]) == ("configuration", "tpot_s", 20)
    assert r["measured_over_predicted_low"] == pytest.approx(1.1)
    assert r["holdout_coverage"] == 1.0
    assert r["measured_over_predicted_median"] == pytest.approx(1.1)
    path = write_bands(tmp_path, rows, "test")
    rec = Catalog([tmp_path]).table("error-bands")["configuration-tpot-s"]
    assert rec.measured_over_predicted_high == pytest.approx(1.1)
    assert rec.measured_over_predicted_median == pytest.approx(1.1)
    assert path.name == "error_bands.csv"


def _catalog_with_bands(tmp_path: Path, models: str) -> Catalog:
    """A catalog whose hopper-trtllm row was fitted to ``models`` and whose bands are
    0.8-1.2 (configuration), 0.6-1.5 (model family), 0.5-2.0 (accelerator family)."""
    rows = list(csv.DictReader((builtin_dir() / "efficiency.csv").open()))
    row = next(r for r in rows if r["family"] == "hopper" and r["software"] == "trtllm")
    row["models_fitted"] = models
    with (tmp_path / "efficiency.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    bands = [
        {
            "split": s,
            "metric": m,
            "coverage": 0.9,
            "measured_over_predicted_low": lo,
            "measured_over_predicted_high": hi,
            "residuals": 100,
            "holdout_coverage": 0.88,
        }
        for s, lo, hi in (
            ("configuration", 0.8, 1.2),
            ("model_family", 0.6, 1.5),
            ("accelerator_family", 0.5, 2.0),
        )
        for m in ("ttft_s", "tpot_s", "output_tok_s")
    ]
    write_bands(tmp_path, bands, "test")
    return Catalog([tmp_path])


@pytest.mark.parametrize(
    ("models", "accelerator", "split"),
    [
        ("llama-3.1-70b;qwen3-32b", "h100-sxm", "configuration"),
        ("qwen3-32b", "h100-sxm", "model_family"),  # calibrated family, model not in its fit
        ("llama-3.1-70b", "mi355x", "accelerator_family"),  # no fitted CDNA4 row
    ],
)
def test_band_is_keyed_by_distance_from_the_calibration_data(tmp_path, models, accelerator, split):
    cat = _catalog_with_bands(tmp_path, models)
    acc = cat.accelerator(accelerator)
    choice = choose_engine(cat, acc, "trtllm" if acc.vendor == "NVIDIA" else "vllm")
    assert error_band(cat, choice, "llama-3.1-70b").split == split


def test_estimate_carries_its_band(tmp_path):
    cat = _catalog_with_bands(tmp_path, "llama-3.1-70b")
    op = estimate(Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8), cat)
    d = op.as_dict()
    # the configuration band 0.8-1.2 times each prediction
    assert d["tpot_s_low"] == pytest.approx(0.8 * d["tpot_s"])
    assert d["tpot_s_high"] == pytest.approx(1.2 * d["tpot_s"])
    assert d["output_tok_s_total_high"] == pytest.approx(1.2 * d["output_tok_s_total"])
    assert d["ttft_s_low"] == pytest.approx(0.8 * d["ttft_s"])
    assert d["error_band_coverage"] == 0.9
    assert d["error_band_basis"].startswith("held out by configuration")


def test_the_band_says_when_it_is_not_the_calibrations_own(tmp_path):
    # the user catalog has its hopper-trtllm row and configuration bands for ttft_s, tpot_s
    # and output_tok_s: the band is its own (no note), from its folder
    cat = _catalog_with_bands(tmp_path, "llama-3.1-70b")
    d = estimate(Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8), cat)
    d = d.as_dict()
    assert d["error_band_source"] == str(tmp_path)
    assert d["error_band_note"] is None
    # a calibration that wrote TPOT's band only (fewer than 5 held-out TTFT and throughput
    # values): those two come from the built-in table, and the note names them
    rows = list(csv.DictReader((tmp_path / "error_bands.csv").open()))
    keep = [r for r in rows if r["id"] == "configuration-tpot-s"]
    with (tmp_path / "error_bands.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    d = estimate(
        Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8),
        Catalog([tmp_path]),
    ).as_dict()
    assert d["error_band_source"] == f"ttft_s, output_tok_s: built-in; tpot_s: {tmp_path}"
    assert d["error_band_note"].startswith(
        f"built-in band for ttft_s, output_tok_s: your calibration in {tmp_path} (efficiency "
        "row hopper-trtllm"
    )
    # the TPOT band is still the calibration's 0.8-1.2
    assert d["tpot_s_low"] == pytest.approx(0.8 * d["tpot_s"])


def test_built_in_factors_with_a_user_band_say_so(tmp_path):
    # bands from a calibration folder but no efficiency row there: the factors are built-in
    _catalog_with_bands(tmp_path, "llama-3.1-70b")
    (tmp_path / "efficiency.csv").unlink()
    d = estimate(
        Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8),
        Catalog([tmp_path]),
    ).as_dict()
    assert d["error_band_note"].startswith(
        f"band from the calibration in {tmp_path}, while the factors are built-in"
    )


def test_built_in_bands_hold_every_split_and_metric():
    # the stored table (bench/bench_accuracy.py --write): a band for each split and each
    # metric the estimate shows, low <= 1 <= high is not required, but low < high is
    rows = list(Catalog().table("error-bands").values())
    have = {(r.split, r.metric) for r in rows}
    for split in ("configuration", "model_family", "accelerator_family"):
        for metric in ("tpot_s", "output_tok_s"):
            assert (split, metric) in have
    for r in rows:
        assert r.measured_over_predicted_low < r.measured_over_predicted_high
        # the median lies inside its own 90 % band (a split lognormal needs p5 < median < p95)
        m = r.measured_over_predicted_median
        assert m is None or r.measured_over_predicted_low < m < r.measured_over_predicted_high
        assert r.holdout_coverage is None or 0.0 <= r.holdout_coverage <= 1.0
        assert not math.isnan(r.measured_over_predicted_low)
