"""Efficiency factors and their regression guard against published measurements
(tokenfab.perf.calibration).

Every row of ``bench/data/measured_throughput.csv`` that tokenfab can model is predicted with the
factors the run path uses (``data/efficiency.csv``, fitted by ``bench/bench_accuracy.py
--write`` to these rows and the AIConfigurator sample). The rows are in the fit, so this is a
regression guard with a stated tolerance, not an accuracy figure: held-out accuracy is
``bench/results/accuracy.md`` (``docs/calibration.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.errors import ScenarioError
from tokenfab.perf import calibration as cal

BENCH_DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
SHARED = BENCH_DATA / "measured_throughput.csv"
ADDED = BENCH_DATA / "measured_throughput_added.csv"
TOLERANCE = 0.15


# ---------------------------------------------------------------------------------------------
# Engines and hardware
# ---------------------------------------------------------------------------------------------


def test_hardware_of_h100_in_base_units():
    # datasheet: 3.35 TB/s, 989.5 dense BF16 TFLOP/s, 1,979 FP8, 80 GiB, NVLink 900 GB/s in 8s
    hw = cal.hardware(default_catalog().accelerator("h100-sxm"), "fp8")
    assert_allclose(hw.hbm_bytes_per_s, 3.35e12, rtol=1e-12)
    assert_allclose(hw.peak_flops_per_s, 1979e12, rtol=1e-12)
    assert_allclose(hw.attention_flops_per_s, 989.5e12, rtol=1e-12)  # attention stays 16-bit
    assert_allclose(hw.memory_bytes, 80 * 2**30, rtol=0)
    assert_allclose(hw.link_bytes_per_s, 900e9, rtol=1e-12)
    assert float(hw.domain_size) == 8.0
    assert cal.GIB == 1_073_741_824


def test_choose_engine_uses_the_family_row():
    cat = default_catalog()
    choice = cal.choose_engine(cat, cat.accelerator("h100-sxm"))
    row = cat.table("efficiency")["hopper-trtllm"]
    assert (choice.software, choice.efficiency_id, choice.calibrated) == (
        "trtllm",
        "hopper-trtllm",
        True,
    )
    eng = choice.engine
    assert_allclose(eng.compute_efficiency, row.compute_efficiency, rtol=0)
    assert_allclose(eng.bw_efficiency, row.bw_efficiency, rtol=0)
    assert_allclose(eng.overhead_s, row.overhead_ms / 1e3, rtol=1e-12)
    assert_allclose(eng.overhead_per_sequence_s, row.overhead_per_sequence_us / 1e6, rtol=1e-12)
    assert_allclose(eng.overhead_per_layer_s, row.overhead_per_layer_us / 1e6, rtol=1e-12)
    # memory settings from serving_software.csv (trtllm: 4 GB reserve, 90 % of the rest to KV)
    assert_allclose(eng.runtime_reserve_bytes, 4e9, rtol=0)
    assert_allclose(eng.kv_memory_fraction, 0.9, rtol=0)


def test_uncalibrated_family_takes_the_median_of_its_software_class():
    # No ampere/trtllm row: the A100 gets the median of the trtllm rows (blackwell, hopper);
    # the median of two values is their mean.
    cat = default_catalog()
    choice = cal.choose_engine(cat, cat.accelerator("a100-sxm-80gb"))
    assert (choice.software, choice.calibrated, choice.efficiency_id) == ("trtllm", False, None)
    rows = [r for r in cat.table("efficiency").values() if r.software == "trtllm"]
    assert {r.family for r in rows} == {"blackwell", "hopper"}
    assert_allclose(
        choice.engine.bw_efficiency, np.mean([r.bw_efficiency for r in rows]), rtol=1e-12
    )


def test_same_architecture_family_borrows_its_row_and_says_so():
    # GB300 (Blackwell Ultra) has no fitted TensorRT-LLM row; its catalog row names Blackwell as
    # the same architecture (prior_family), so it borrows blackwell-trtllm's factors, at every
    # matrix rate, and still says it is uncalibrated and what it borrows. docs/method.md 6.5:
    # held out, the Blackwell rows predicted Blackwell Ultra's runs better than the class median.
    cat = default_catalog()
    gb300, gb200 = cat.accelerator("gb300"), cat.accelerator("gb200")
    assert gb300.prior_family == gb200.family == "blackwell"
    for precision in (None, "fp8", "fp4"):
        borrowed = cal.choose_engine(cat, gb300, "trtllm", precision=precision)
        own = cal.choose_engine(cat, gb200, "trtllm", precision=precision)
        assert (borrowed.calibrated, borrowed.efficiency_id) == (False, None)
        assert borrowed.borrowed_id == own.efficiency_id == "blackwell-trtllm"
        for name in ("compute_efficiency", "bw_efficiency", "kv_efficiency", "overhead_s"):
            assert_allclose(getattr(borrowed.engine, name), getattr(own.engine, name), rtol=0)
    assert "borrows blackwell-trtllm" in borrowed.basis and "uncalibrated" in borrowed.basis
    # a family with its own row keeps it: Blackwell Ultra x SGLang is fitted (31 B300 runs)
    sglang = cal.choose_engine(cat, gb300, "sglang")
    assert (sglang.efficiency_id, sglang.borrowed_id) == ("blackwell-ultra-sglang", None)
    # a family with no same-architecture link still takes the class median (cdna4 x vLLM)
    mi355x = cal.choose_engine(cat, cat.accelerator("mi355x"))
    assert (mi355x.borrowed_id, mi355x.calibrated) == (None, False)
    assert "median" in mi355x.basis


def test_gb300_decode_at_batch_1_is_no_slower_than_gb200():
    # Equal HBM bandwidth (8.0 TB/s both), equal dense FP8 peak (5,000 TFLOP/s), and with the
    # borrowed row the same factors: batch-1 FP8 decode, which streams the weights, takes the
    # same step time on both, and GB300's larger FP4 peak can only shorten an FP4 step.
    # Measured (AIConfigurator decode pools, DeepSeek-V3, 15 matched configurations): GB300's
    # TPOT / GB200's has median 0.988 (docs/method.md 6.5).
    from tokenfab.perf import operating as o
    from tokenfab.scenario import Scenario

    cat = default_catalog()

    def tpot(acc: str, precision: str) -> float:
        scenario = Scenario(
            model="gpt-oss-120b",
            accelerator=acc,
            precision=precision,
            tensor_parallel=1,
            batch_size=1,
            accelerators=1,
        )
        return float(o.estimate(scenario, cat).tpot_s)

    assert tpot("gb300", "fp8") <= tpot("gb200", "fp8") * (1 + 1e-9)
    assert tpot("gb300", "mxfp4") <= tpot("gb200", "mxfp4") * (1 + 1e-9)


def test_prior_family_needs_its_source():
    from tokenfab.catalog import Accelerator

    row = default_catalog().accelerator("gb300").model_dump()
    with pytest.raises(ValueError, match="prior_family needs prior_family_source"):
        Accelerator(**{**row, "prior_family_source": None})
    with pytest.raises(ValueError, match="cannot borrow from itself"):
        Accelerator(**{**row, "prior_family": "blackwell-ultra"})


def test_vendor_default_software():
    cat = default_catalog()
    assert cal.choose_engine(cat, cat.accelerator("mi300x")).software == "vllm"
    with pytest.raises(ScenarioError, match="software"):
        cal.choose_engine(cat, cat.accelerator("h100-sxm"), "tgi")


def test_roofline_engine_has_unit_efficiency_and_no_overhead():
    cat = default_catalog()
    roof = cal.choose_engine(cat, cat.accelerator("h100-sxm")).engine.roofline()
    for name in ("compute_efficiency", "bw_efficiency", "comm_efficiency", "moe_efficiency"):
        assert float(getattr(roof, name)) == 1.0
    assert float(roof.overhead_s) == 0.0 and float(roof.overhead_per_sequence_s) == 0.0
    assert float(roof.overhead_per_layer_s) == 0.0
    assert_allclose(roof.runtime_reserve_bytes, 4e9, rtol=0)  # memory settings unchanged


# ---------------------------------------------------------------------------------------------
# Reading the published measurements
# ---------------------------------------------------------------------------------------------


def test_read_measurements_maps_the_first_row():
    # Line 2 of the shared table: Llama-3.1-8B-Instruct, 1 x H200 SXM, FP8, 128/128, offline
    # (num_requests=30000), 27,911 output tokens/s, TensorRT-LLM v1.0 (PyTorch backend).
    kept, _ = cal.read_measurements(str(SHARED), default_catalog())
    first = kept[0]
    assert first.row == 2
    assert (first.model, first.accelerator, first.accelerators) == ("llama-3.1-8b", "h200-sxm", 1)
    assert (first.precision, first.kv_precision) == ("fp8", "fp8")
    assert (first.input_tokens, first.output_tokens) == (128, 128)
    assert (first.mode, first.batch, first.software) == ("offline", 30000.0, "trtllm")
    assert (first.metric, first.measured) == ("output_tok_s_total", 27911.0)


def test_read_measurements_accounts_for_every_row():
    # Every data row is either mapped (one measurement a published metric) or skipped with a
    # reason; the shared table has 80 data lines (81 with the header).
    kept, skipped = cal.read_measurements(str(SHARED), default_catalog())
    lines = {m.row for m in kept} | {line for line, _ in skipped}
    assert lines == set(range(2, 82))
    assert all(why for _, why in skipped)
    assert len(kept) == 80  # 73 mapped rows: 68 with one metric, 3 with two, 2 with three


# ---------------------------------------------------------------------------------------------
# Validation: predicted vs measured with the stored factors
# ---------------------------------------------------------------------------------------------


def predict_with_stored_factors(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and measurements with each row's (family, software) factors."""
    cat = default_catalog()
    items = [m for p in paths for m in cal.read_measurements(str(p), cat)[0]]
    ma = cal.stack_measurements(items, cat)
    return cal.predict_with_stored(ma, cat), ma.measured


@pytest.fixture(scope="module")
def shared_predictions():
    return predict_with_stored_factors([SHARED])


def test_regression_guard_shared_table_in_sample_median_below_15_percent(shared_predictions):
    # In sample (the stored factors were fitted on these rows): a regression guard, not an
    # accuracy figure -- held-out accuracy is bench/bench_accuracy.py's (docs/calibration.md).
    predicted, measured = shared_predictions
    err = np.abs(predicted / measured - 1)
    assert np.all(np.isfinite(predicted)) and np.all(predicted > 0)
    assert np.median(err) < TOLERANCE


def test_regression_guard_all_measurements_in_sample_median_below_15_percent():
    # In sample, as above: a regression guard.
    predicted, measured = predict_with_stored_factors([SHARED, ADDED])
    assert predicted.size == 194
    err = np.abs(predicted / measured - 1)
    assert np.median(err) < TOLERANCE


def test_stacked_engines_carry_the_stored_factors(shared_predictions):
    # stack_measurements builds each row's engine with choose_engine, which picks the row's
    # (family, software) factors: predicting with those per-row arrays equals the grouped run.
    cat = default_catalog()
    items = cal.read_measurements(str(SHARED), cat)[0]
    ma = cal.stack_measurements(items, cat)
    e = ma.base_engine
    per_row = cal.predict_measurements(
        ma,
        e.compute_efficiency,
        e.bw_efficiency,
        e.overhead_s,
        e.comm_efficiency,
        e.overhead_per_sequence_s,
        e.moe_efficiency,
        e.kv_efficiency,
        e.overhead_per_layer_s,
    )
    assert_allclose(per_row, shared_predictions[0], rtol=1e-12)


def test_predict_measurements_vector_of_factor_sets_equals_scalar():
    # K candidate factor sets of shape (K, 1) against all rows at once equal K separate calls.
    cat = default_catalog()
    ma = cal.stack_measurements(cal.read_measurements(str(SHARED), cat)[0][:20], cat)
    ce = np.array([[0.3], [0.5], [0.8]])
    bw = np.array([[0.5], [0.7], [0.9]])
    per_layer = np.array([[0.0], [20e-6], [60e-6]])
    grid = cal.predict_measurements(ma, ce, bw, 1e-3, 0.5, 1e-5, 0.65, 1.0, per_layer)
    assert grid.shape == (3, 20)
    for k in range(3):
        one = cal.predict_measurements(
            ma, ce[k, 0], bw[k, 0], 1e-3, 0.5, 1e-5, 0.65, 1.0, per_layer[k, 0]
        )
        assert_allclose(grid[k], one, rtol=1e-12)


def test_weight_format_picks_the_compute_efficiency_of_its_matrix_rate():
    cat = default_catalog()
    row = cat.table("efficiency")["hopper-trtllm"]
    h100 = cat.accelerator("h100-sxm")

    def ce(acc, precision):
        return float(
            cal.choose_engine(cat, acc, "trtllm", precision=precision).engine.compute_efficiency
        )

    # data/precisions.csv: FP8 multiplies at the FP8 rate; MXFP4 on Hopper is weight-only and
    # multiplies at the BF16 rate; BF16 and no format at the 16-bit rate
    assert ce(h100, "fp8") == row.compute_efficiency_8bit
    assert ce(h100, "mxfp4") == ce(h100, "bf16") == ce(h100, None) == row.compute_efficiency
    b200 = cat.accelerator("b200")
    assert ce(b200, "fp4") == cat.table("efficiency")["blackwell-trtllm"].compute_efficiency_4bit
    # an uncalibrated family: the median of its class's rows at the same rate (two rows: mean)
    rows = [r for r in cat.table("efficiency").values() if r.software == "trtllm"]
    l40s = cat.accelerator("l40s")  # Ada: FP8 units, no trtllm row
    assert_allclose(ce(l40s, "fp8"), np.mean([r.compute_efficiency_8bit for r in rows]), rtol=1e-12)


def test_blank_rate_column_takes_the_16_bit_efficiency(tmp_path):
    import csv

    from tokenfab.catalog import Catalog, builtin_dir

    rows = list(csv.DictReader((builtin_dir() / "efficiency.csv").open()))
    row = next(r for r in rows if r["id"] == "hopper-trtllm")
    row.update(id="hopper-trtllm-mine", compute_efficiency="0.5", compute_efficiency_8bit="")
    with (tmp_path / "efficiency.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(row)
    cat = Catalog([tmp_path])
    eng = cal.choose_engine(cat, cat.accelerator("h100-sxm"), "trtllm", precision="fp8").engine
    assert float(eng.compute_efficiency) == 0.5


def test_block_scaled_fp8_has_its_own_efficiency_where_tensor_cores_lack_block_scales(tmp_path):
    import csv

    from tokenfab.catalog import Catalog, builtin_dir

    cat = default_catalog()
    h200, b200 = cat.accelerator("h200-sxm"), cat.accelerator("b200")
    # models.csv fp8_checkpoint_block: DeepSeek-V3's config.json quantization_config has
    # weight_block_size [128, 128]; Llama 3.3's published checkpoints are BF16 (none)
    assert cal.block_scaled_fp8(cat.model("deepseek-v3"), "fp8")
    assert not cal.block_scaled_fp8(cat.model("deepseek-v3"), "fp4")
    assert not cal.block_scaled_fp8(cat.model("llama-3.3-70b"), "fp8")
    # Hopper has no FP4 units, so no block-scaled MMA: its own column; Blackwell's FP4 tensor
    # cores apply microscaling block scales, so block-scaled FP8 runs as FP8 there
    assert cal.efficiency_column(h200, "fp8", block_scaled=True) == "compute_efficiency_8bit_block"
    assert cal.efficiency_column(b200, "fp8", block_scaled=True) == "compute_efficiency_8bit"
    assert cal.efficiency_column(h200, "bf16", block_scaled=True) == "compute_efficiency"
    # a row without the block column takes its 8-bit efficiency, one with it its own value
    rows = list(csv.DictReader((builtin_dir() / "efficiency.csv").open()))
    row = next(r for r in rows if r["id"] == "hopper-trtllm")
    blank = dict(row, id="hopper-trtllm-blank", compute_efficiency_8bit="0.6")
    blank["compute_efficiency_8bit_block"] = ""
    for name, extra in (("blank", {}), ("own", {"compute_efficiency_8bit_block": "0.3"})):
        folder = tmp_path / name
        folder.mkdir()
        with (folder / "efficiency.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerow({**blank, **extra})
        mine = Catalog([folder])
        choice = cal.choose_engine(
            mine, mine.accelerator("h200-sxm"), "trtllm", precision="fp8", block_scaled=True
        )
        assert float(choice.engine.compute_efficiency) == (0.3 if extra else 0.6)
        # the estimate names the column it read, not the one it asked for: a blank block
        # column read 0.6 from compute_efficiency_8bit, and the basis must say so
        read = "compute_efficiency_8bit_block" if extra else "compute_efficiency_8bit"
        assert choice.compute_column == read
        assert f"efficiency.csv {read} (block-scaled FP8" in choice.basis


def test_the_basis_names_each_column_a_median_reads_and_the_fp8_scaling_assumed():
    cat = default_catalog()
    # L40S (Ada) has no fitted trtllm row and no prior_family: the median of the class's rows,
    # blackwell-trtllm (block column blank: Blackwell applies block scales, so its 8-bit one)
    # and hopper-trtllm (its block-scaled column); Qwen3-32B's FP8 release is block-scaled
    model = cat.model("qwen3-32b")
    choice = cal.choose_engine(
        cat,
        cat.accelerator("l40s"),
        "trtllm",
        precision="fp8",
        block_scaled=cal.block_scaled_fp8(model, "fp8"),
    )
    rows = [r for r in cat.table("efficiency").values() if r.software == "trtllm"]
    fams = sorted(r.family for r in rows)
    assert fams == ["blackwell", "hopper"]  # the premise of the arithmetic below
    assert choice.compute_column == (
        "compute_efficiency_8bit (1 of 2 rows), compute_efficiency_8bit_block (1 of 2 rows)"
    )
    assert choice.block_scaled and "block-scaled FP8 weights" in choice.basis
    # Llama 3.1's weights are published in BF16: its FP8 is no block-scaled checkpoint
    llama = cal.choose_engine(
        cat, cat.accelerator("h100-sxm"), "trtllm", precision="fp8", block_scaled=False
    )
    assert llama.compute_column == "compute_efficiency_8bit" and not llama.block_scaled
    assert "block-scaled" not in llama.basis
