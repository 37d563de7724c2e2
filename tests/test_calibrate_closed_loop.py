"""The closed-loop TTFT terms (front end, first wave) fitted per software class
(tokenfab.calibrate.closed_loop) and read back by the run path."""

from __future__ import annotations

import csv
import statistics
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.calibrate import adapter, closed_loop, fit
from tokenfab.calibrate.bands import band_rows, write_bands
from tokenfab.calibrate.importers import build
from tokenfab.calibrate.run import calibrate
from tokenfab.catalog import Catalog, default_catalog
from tokenfab.perf.calibration import choose_engine, closed_loop_terms
from tokenfab.perf.operating import estimate
from tokenfab.scenario import Scenario

CAT = default_catalog()


def runs():
    """48 closed-loop runs with TTFT and TPOT: two engines, two models, two lengths, six
    concurrencies."""
    out = []
    for acc, engine in (("h100-sxm", "vllm"), ("b200", "sglang")):
        for model, tp in (("llama-3.1-8b", 1), ("llama-3.1-70b", 4)):
            for isl, osl in ((1024, 128), (4096, 512)):
                for conc in (2, 4, 16, 64, 128, 256):
                    out.append(
                        build(
                            dict(
                                model=model,
                                accelerator=acc,
                                engine=engine,
                                engine_version="0.11.0",
                                precision="fp8",
                                isl=isl,
                                osl=osl,
                                load_size=conc,
                                tp=tp,
                                ttft_s=1.0,
                                tpot_s=1.0,
                            ),
                            f"synthetic:{len(out) + 2}",
                            CAT,
                        )
                    )
    return out


@pytest.fixture(scope="module")
def prepared():
    return adapter.prepare(runs(), CAT)


START = {k: np.asarray(fit.START[k]) for k in fit.FACTORS}


def test_prediction_is_affine_in_the_two_terms(prepared):
    # every target's prediction with a front end F and a first-wave share f is a + b F + c f
    # (TTFT under the closed loop: the front end and the first wave add to each client's wait,
    # and slot waits scale both); the other targets do not move (b = c = 0)
    prep = prepared
    a, b, c = closed_loop.coefficients(prep, START)
    arrays = replace(
        prep.arrays,
        frontend_s=np.full(prep.size, 0.037),
        first_wave_share=np.full(prep.size, 0.125),
    )
    direct = adapter.predict(replace(prep, arrays=arrays), START)
    assert_allclose(direct, a + 0.037 * b + 0.125 * c, rtol=1e-9)
    loop = closed_loop.targets(prep)
    assert loop.sum() == 48  # one closed-loop TTFT a run
    assert np.all(b[~loop] == 0) and np.all(c[~loop] == 0)
    assert np.all(b[loop] >= 1.0 - 1e-9)  # the front end once, more where clients wait for a slot
    assert np.all(c[loop] >= 0.0)


def test_fit_recovers_known_terms_per_class(prepared):
    # "measurements" made by the model itself with 40 ms and 8 requests a client for vLLM,
    # 120 ms and 2 for SGLang: the grid search finds both exactly (both are grid points)
    prep = prepared
    coef = closed_loop.coefficients(prep, START)
    sw = prep.arrays.software
    truth = {"vllm": (40.0, 8.0), "sglang": (120.0, 2.0)}
    measured = closed_loop.apply(coef, sw, truth)
    loop = closed_loop.targets(prep)
    assert closed_loop.fit_by_class(coef, measured, sw, loop) == truth


def test_class_with_few_runs_gets_no_terms(prepared):
    # fewer than MIN_RUNS (20) runs of a class: no row of its own
    prep = prepared
    coef = closed_loop.coefficients(prep, START)
    sw = prep.arrays.software
    loop = np.flatnonzero(closed_loop.targets(prep))
    few = np.concatenate([loop[sw[loop] == "vllm"][:5], loop[sw[loop] == "sglang"]])
    assert set(closed_loop.fit_by_class(coef, prep.measured, sw, few)) == {"sglang"}


def test_cross_validation_leaves_fitted_targets_as_the_plain_one(prepared):
    # TPOT does not depend on the closed-loop terms: the same held-out TPOT as
    # fit.cross_validate; the held-out closed-loop TTFT is finite and positive
    prep = prepared
    keys = [("hopper" if a == "h100-sxm" else "blackwell",) for a in prep.arrays.family]
    hold = np.arange(prep.size) % 4
    ours = closed_loop.cross_validate(prep, keys, hold, k=None)
    plain = fit.cross_validate(prep, keys, hold, k=None)
    tpot = prep.metric == "tpot_s"
    assert_allclose(ours[tpot], plain[tpot], rtol=1e-12)
    loop = closed_loop.targets(prep)
    assert np.all(np.isfinite(ours[loop]) & (ours[loop] > 0))


def test_written_terms_reach_the_run_path(tmp_path):
    # a user catalog directory with closed_loop.csv: its rows win over the built-in ones, and
    # choose_engine carries the front end [s] and the first-wave share (1 / requests per
    # client): 30 ms and 1/10 for vLLM, 90 ms and 1/4 for SGLang
    rows = [
        {"id": "vllm", "frontend_ms": 30.0, "requests_per_client": 10.0, "runs": 40},
        {"id": "sglang", "frontend_ms": 90.0, "requests_per_client": 4.0, "runs": 40},
    ]
    closed_loop.write_closed_loop(tmp_path, rows, "test fixture")
    cat = Catalog([tmp_path])
    choice = choose_engine(cat, cat.accelerator("h100-sxm"), "vllm")
    assert (choice.frontend_s, choice.first_wave_share) == pytest.approx((0.030, 0.1))
    assert closed_loop_terms(cat, "sglang") == pytest.approx((0.090, 0.25))


def test_built_in_terms_are_within_their_bounds():
    rows = list(CAT.table("closed-loop").values())
    for r in rows:
        assert 0.0 <= r.frontend_ms <= closed_loop.FRONTEND_MS_MAX
        assert 1.0 <= r.requests_per_client <= closed_loop.REQUESTS_PER_CLIENT_MAX
        assert r.runs >= closed_loop.MIN_RUNS


def test_band_rows_give_closed_loop_ttft_its_own_band():
    # 20 closed-loop TTFT runs measured at twice their held-out prediction and 20 fixed-batch
    # TTFT runs at 1.1 times theirs: two bands, 2.0 and 1.1
    metric = np.array(["ttft_s_concurrent"] * 20 + ["ttft_s"] * 20)
    measured = np.r_[np.full(20, 2.0), np.full(20, 1.1)]
    rows = band_rows(
        {"configuration": np.ones(40)},
        {"configuration": np.array_split(np.arange(40), 5)},
        measured,
        metric,
        np.ones(40, bool),
    )
    got = {r["metric"]: r["measured_over_predicted_low"] for r in rows}
    assert got == pytest.approx({"ttft_s": 1.1, "ttft_s_concurrent": 2.0})


def test_estimate_under_concurrency_takes_the_closed_loop_ttft_band(tmp_path):
    # every split's band: fixed-batch TTFT 0.8-1.2, closed-loop TTFT 0.5-3.0; an estimate with
    # closed-loop clients shows 0.5 and 3.0 times its TTFT, one without 0.8 and 1.2
    write_bands(
        tmp_path,
        [
            {
                "split": split,
                "metric": metric,
                "coverage": 0.9,
                "measured_over_predicted_low": lo,
                "measured_over_predicted_high": hi,
                "residuals": 100,
                "holdout_coverage": 0.9,
            }
            for split in ("configuration", "model_family", "accelerator_family")
            for metric, lo, hi in (("ttft_s", 0.8, 1.2), ("ttft_s_concurrent", 0.5, 3.0))
        ],
        "test fixture",
    )
    cat = Catalog([tmp_path])
    base = dict(model="llama-3.1-8b", accelerator="h100-sxm", input_tokens=1024, output_tokens=128)
    loop = estimate(Scenario(**base, concurrency=64), cat).as_dict()
    assert (loop["ttft_s_low"], loop["ttft_s_high"]) == pytest.approx(
        (0.5 * loop["ttft_s"], 3.0 * loop["ttft_s"])
    )
    plain = estimate(Scenario(**base, batch_size=64), cat).as_dict()
    assert (plain["ttft_s_low"], plain["ttft_s_high"]) == pytest.approx(
        (0.8 * plain["ttft_s"], 1.2 * plain["ttft_s"])
    )


def test_calibrate_fits_the_terms_of_a_users_closed_loop_runs(tmp_path):
    # a user's 48 closed-loop runs (the generic CSV), measured as the model predicts them with
    # the catalog's factors and known terms -- vLLM 40 ms and 8 requests a client, SGLang
    # 120 ms and 2: `tokenfab calibrate` writes closed_loop.csv with a row per class near those
    # terms, and error bands for closed-loop TTFT
    ms = runs()
    prep = adapter.prepare(ms, CAT)
    factors = adapter.stored_factors(prep, CAT)
    coef = closed_loop.coefficients(prep, factors)
    truth = {"vllm": (40.0, 8.0), "sglang": (120.0, 2.0)}
    value = closed_loop.apply(coef, prep.arrays.software, truth)
    measured = {}
    for k, r in enumerate(prep.record):
        measured.setdefault(int(r), {})[str(prep.metric[k])] = float(value[k])
    path = tmp_path / "runs.csv"
    cols = ["model", "accelerator", "engine", "engine_version", "precision", "isl", "osl"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, "load", "load_size", "tp", "ttft_s", "tpot_s"])
        for i, m in enumerate(ms):
            w.writerow(
                [
                    m.model,
                    m.accelerator,
                    m.engine,
                    m.engine_version,
                    m.precision,
                    m.isl,
                    m.osl,
                    "concurrency",
                    m.concurrency,
                    m.layout.tp,
                    measured[i]["ttft_s"],
                    measured[i]["tpot_s"],
                ]
            )
    out = tmp_path / "cat"
    calibrate([path], CAT, out)
    rows = {r.id: r for r in Catalog([out]).table("closed-loop").values()}
    assert {"vllm", "sglang"} <= set(rows)
    for sw, (f_ms, per_client) in truth.items():
        assert rows[sw].runs == 24
        # 25 ms: calibrate refits the step factors on these 24 runs too (pulled towards the
        # pooled fit, not exactly the catalog's), and the front end takes up the difference
        assert rows[sw].frontend_ms == pytest.approx(f_ms, abs=25.0)
        assert rows[sw].requests_per_client == pytest.approx(per_client, rel=0.5)
    bands = {(b.split, b.metric) for b in Catalog([out]).table("error-bands").values()}
    assert ("configuration", "ttft_s_concurrent") in bands


def test_class_without_a_row_takes_the_medians_of_the_rows():
    # trtllm-engine (TensorRT-LLM <= v0.14) has no closed-loop runs: the median front end and
    # the median requests a client of the built-in rows (today 16, 42, 217 ms -> 42 ms and
    # 2, 13, 15 -> 13)
    rows = list(CAT.table("closed-loop").values())
    assert "trtllm-engine" not in {r.id for r in rows}
    front = statistics.median(r.frontend_ms for r in rows)
    per_client = statistics.median(r.requests_per_client for r in rows)
    assert closed_loop_terms(CAT, "trtllm-engine") == pytest.approx((front / 1e3, 1.0 / per_client))
