"""The number-format table (data/precisions.csv) and the functions that read it."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.errors import ScenarioError
from tokenfab.perf import precision as pr


def test_bytes_per_element_include_block_scales():
    # NVFP4: 4 bits + one 8-bit scale per 16 values = 4.5 bits = 0.5625 B (NVIDIA NVFP4 blog);
    # MXFP4: 4 + 8/32 = 4.25 bits = 0.53125 B (OCP MX v1.0); W4A16 g128 FP16 scale:
    # 4 + 16/128 = 4.125 bits = 0.515625 B; FP8/INT8 1 B; BF16/FP16 2 B; FP32 4 B
    expected = {
        "fp32": 4.0,
        "bf16": 2.0,
        "fp16": 2.0,
        "fp8": 1.0,
        "int8": 1.0,
        "fp4": 0.5625,
        "mxfp4": 0.53125,
        "int4": 0.515625,
    }
    assert set(pr.BYTES_PER_ELEMENT) == set(expected)
    for fmt, value in expected.items():
        assert_allclose(pr.BYTES_PER_ELEMENT[fmt], value, rtol=0, atol=0)


def test_format_lists_match_the_table_columns():
    # compute formats: those with a peak column (fp32 is storage only); KV: kv_capable rows
    assert pr.PRECISIONS == ("bf16", "fp16", "fp8", "int8", "fp4", "mxfp4", "int4")
    assert pr.KV_PRECISIONS == ("bf16", "fp16", "fp8", "int8", "fp4")


def test_every_format_is_sourced():
    for fmt in pr.precision_table().values():
        assert fmt.source.startswith(("IEEE", "Kalamkar", "NVIDIA", "Xiao", "Open Compute", "Lin"))
        assert "http" in fmt.source
        assert fmt.as_of.year >= 2019


def test_peaks_native_and_fallback():
    cat = default_catalog()
    h100, b200 = cat.accelerator("h100-sxm"), cat.accelerator("b200")
    # H100 datasheet: 989.5 dense BF16, 1979 dense FP8 TFLOP/s; no FP4 units, so MXFP4 runs
    # weight-only at the BF16 rate and NVFP4 is refused
    assert pr.peak_flops_per_s(h100, "mxfp4") == pytest.approx(989.5e12)
    assert pr.peak_flops_per_s(h100, "int4") == pytest.approx(989.5e12)
    with pytest.raises(ScenarioError, match="fp4 is not supported on h100-sxm"):
        pr.peak_flops_per_s(h100, "fp4")
    # B200 (HGX) datasheet: 9,000 dense FP4 TFLOP/s, MXFP4 at the same FP4 rate
    assert pr.peak_flops_per_s(b200, "mxfp4") == pytest.approx(9000e12)
    assert "fp4" in pr.supported_precisions(b200)
    assert "fp4" not in pr.supported_precisions(h100)


def test_default_kv_follows_the_table_and_the_chip():
    cat = default_catalog()
    h100, a100 = cat.accelerator("h100-sxm"), cat.accelerator("a100-sxm-80gb")
    assert pr.default_kv_precision(h100, "fp8") == "fp8"
    assert pr.default_kv_precision(h100, "mxfp4") == "fp8"
    assert pr.default_kv_precision(h100, "bf16") == "bf16"
    assert pr.default_kv_precision(h100, "int8") == "bf16"
    # A100 has no FP8 peak: an FP8 KV cache would be refused, so the default falls to BF16
    assert pr.default_kv_precision(a100, "mxfp4") == "bf16"
    with pytest.raises(ScenarioError, match="kv_precision: fp8 is not supported on a100"):
        pr.check_kv_precision(a100, "fp8")
    with pytest.raises(ScenarioError, match="kv_precision: unknown format 'int4'"):
        pr.check_kv_precision(a100, "int4")


def test_an_unsupported_kv_format_lists_kv_formats_only():
    # --kv-precision fp4 on H100: Hopper has no FP4 units. The line listed the weight formats
    # ("bf16, fp16, fp8, int8, mxfp4, int4"); mxfp4 and int4 are weight-only (precisions.csv
    # kv_capable = false), so the allowed KV formats are bf16, fp16, fp8 and int8 alone.
    h100 = default_catalog().accelerator("h100-sxm")
    with pytest.raises(ScenarioError) as exc:
        pr.check_kv_precision(h100, "fp4")
    msg = str(exc.value)
    assert msg == (
        "kv_precision: fp4 is not supported on h100-sxm "
        "(supported KV formats: bf16, fp16, fp8, int8)"
    )
    table = pr.precision_table()
    assert all(table[p].kv_capable for p in pr.supported_kv_precisions(h100))


def test_mxfp4_dequantises_at_fewer_issue_slots_than_int4():
    # H100 SXM: 989.5e12 16-bit FLOP/s over 32 tensor FLOPs a slot: 30.92e12 slots/s; INT4-AWQ
    # at 11 slots an element 2.81e12 elements/s, MXFP4 (no zero point, a power-of-two scale)
    # at 5: 6.18e12
    from tokenfab.perf.calibration import hardware

    h100 = default_catalog().accelerator("h100-sxm")
    assert_allclose(pr.dequant_elements_per_s(h100, "int4"), 989.5e12 / 352, rtol=1e-12)
    assert_allclose(pr.dequant_elements_per_s(h100, "mxfp4"), 989.5e12 / 160, rtol=1e-12)
    assert_allclose(hardware(h100, "mxfp4").dequant_elements_per_s, 6.184375e12, rtol=1e-12)
