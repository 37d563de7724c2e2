"""Importers of measured serving results: each format's fixture with its known answer, and bad
records reported with file:line (tests/fixtures/calibrate/README.md says where each came from)."""

from __future__ import annotations

from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from tokenfab.calibrate.importers import (
    GENERIC_COLUMNS,
    build,
    detect_format,
    read_files,
)
from tokenfab.calibrate.records import Layout, MeasurementFileError
from tokenfab.catalog import default_catalog

FIX = Path(__file__).parent / "fixtures" / "calibrate"
CAT = default_catalog()


def read(name: str, **defaults):
    return read_files([FIX / name], CAT, defaults=defaults or None)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("vllm_bench.json", "vllm"),
        ("sglang_bench.jsonl", "sglang"),
        ("genai_perf.json", "genai-perf"),
        ("aiperf.json", "genai-perf"),
        ("aic_sample.csv", "aic"),
        ("measured.csv", "measured"),
        ("generic.csv", "generic"),
    ],
)
def test_format_is_detected(name, fmt):
    assert detect_format(FIX / name) == fmt


def test_vllm_result_json():
    (m,), issues = read("vllm_bench.json")
    assert issues == []
    # isl = total_input_tokens / completed = 204800 / 200 = 1024; osl = 25600 / 200 = 128
    assert (m.isl, m.osl) == (1024.0, 128.0)
    # --metadata accelerator=h100-sxm tp=1 precision=bf16 engine_version=0.10.1.1
    assert (m.model, m.accelerator, m.precision, m.layout.tp) == (
        "llama-3.1-8b",
        "h100-sxm",
        "bf16",
        1,
    )
    assert (m.engine, m.engine_version, m.era) == ("vllm", "0.10.1.1", "0.10")
    assert m.concurrency == 16  # max_concurrency
    assert_allclose([m.ttft_s, m.tpot_s, m.output_tok_s], [0.085, 0.0125, 1190.5])  # ms -> s


def test_sglang_jsonl_reports_broken_and_open_loop_lines():
    kept, issues = read(
        "sglang_bench.jsonl", model="llama-3.1-8b", accelerator="h200-sxm", precision="fp8"
    )
    (m,) = kept
    # isl = 655360 / 320 = 2048, osl = 81920 / 320 = 256; the file's backend names the engine
    assert (m.isl, m.osl, m.concurrency, m.engine, m.era) == (2048, 256, 32, "sglang", "unknown")
    assert_allclose([m.ttft_s, m.tpot_s, m.output_tok_s], [0.42, 0.0219, 1360.8])
    assert [str(i).split(": ", 1)[0] for i in issues] == [
        f"{FIX / 'sglang_bench.jsonl'}:2",
        f"{FIX / 'sglang_bench.jsonl'}:3",
    ]
    assert "not JSON" in issues[0].reason
    assert "open-loop" in issues[1].reason and "--max-concurrency" in issues[1].reason


def test_missing_field_without_default_is_an_issue_not_a_guess():
    kept, issues = read("sglang_bench.jsonl", model="llama-3.1-8b", precision="fp8")
    assert kept == []
    assert issues[0].reason.startswith("accelerator: not stated")


def test_genai_perf_export():
    (m,), issues = read(
        "genai_perf.json", accelerator="h100-sxm", tp=4, precision="fp8", engine="trtllm"
    )
    assert issues == []
    # input_config.model[0], input_config.concurrency; *.avg of each metric, ms -> s
    assert (m.model, m.concurrency, m.isl, m.osl) == ("llama-3.1-70b", 8, 550.0, 128.0)
    assert_allclose([m.ttft_s, m.tpot_s, m.output_tok_s], [0.310, 0.024, 312.4])
    assert m.accelerators == 4  # the layout's: tp 4


def test_aiperf_export():
    (m,), _ = read("aiperf.json", accelerator="h100-sxm", precision="mxfp4", engine="vllm")
    # input_config.endpoint.model_names[0], input_config.loadgen.concurrency
    assert (m.model, m.concurrency, m.osl) == ("gpt-oss-20b", 100, 96.85)
    assert_allclose([m.ttft_s, m.tpot_s], [1.5888, 0.05176])


def test_aic_rows_layouts_and_bad_value():
    kept, issues = read("aic_sample.csv")
    disagg, agg = kept
    # line 2: DeepSeek-V3 disagg on GB200, prefill 1 worker x (attention-DP 8, EP 8), decode
    # 1 worker x (attention-DP 32, EP 32): 8 + 32 = 40 GPUs; concurrency from the source field
    assert disagg.mode == "disagg" and disagg.accelerators == 40
    assert disagg.prefill_layout == Layout(tp=1, pp=1, attention_dp=8, moe_tp=1, moe_ep=8)
    assert disagg.layout == Layout(tp=1, pp=1, attention_dp=32, moe_tp=1, moe_ep=32)
    assert (disagg.concurrency, disagg.era, disagg.precision) == (2048, "0.8", "fp8")
    assert_allclose([disagg.ttft_s, disagg.tpot_s], [1.8771552708941047, 0.024497003443363074])
    # line 3: Llama-3.1-70B vLLM (blank version) on 4 x H100, TP4, concurrency 16
    assert (agg.model, agg.accelerators, agg.layout.tp, agg.era) == (
        "llama-3.1-70b",
        4,
        4,
        "unknown",
    )
    assert agg.concurrency == 16
    (issue,) = issues
    assert str(issue) == f"{FIX / 'aic_sample.csv'}:4: tpot_s: not a number (got 'n/a')"


def test_measured_throughput_layout():
    kept, issues = read("measured.csv")
    tp4, dep4 = kept
    assert (tp4.accelerator, tp4.layout.tp, tp4.offline, tp4.output_tok_s) == (
        "h100-sxm",
        4,
        True,
        6932.8808,
    )
    assert (tp4.engine, tp4.era) == ("trtllm", "0.14")
    # DEP4: attention-DP 4 + EP 4 on 4 GPUs; per-GPU 6463 x 4 GPUs = 25852 tok/s total
    assert dep4.layout == Layout(tp=1, pp=1, attention_dp=4, moe_tp=1, moe_ep=4)
    assert dep4.output_tok_s == 25852.0
    assert dep4.era == "unknown"  # "post-v1.0": no version stated
    (issue,) = issues
    assert issue.source.endswith("measured.csv:3") and "MTP" in issue.reason


def test_generic_csv():
    kept, issues = read("generic.csv")
    llama, dsr1 = kept
    assert (llama.era, llama.concurrency, llama.tpot_s) == ("0.11", 16, 0.0132)
    assert dsr1.layout.attention_dp == 8 and dsr1.accelerators == 8  # max(1 x 8, 1 x 8)
    (issue,) = issues
    assert issue.source.endswith("generic.csv:4")
    assert issue.reason.startswith("precision: 'fp6' is not a known format")


def test_generic_unknown_column_stops_the_read(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("model,accelerator,ttft_ms\nllama-3.1-8b,h100-sxm,50\n")
    with pytest.raises(MeasurementFileError, match=r"m.csv:1: unknown column 'ttft_ms'"):
        read_files([bad], CAT)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(MeasurementFileError, match="no such measurement file"):
        read_files([tmp_path / "none.json"], CAT)
    with pytest.raises(MeasurementFileError, match="format: unknown 'csv2'"):
        read_files([FIX / "generic.csv"], CAT, fmt="csv2")


VALID = dict(
    model="llama-3.1-8b",
    accelerator="h100-sxm",
    engine="vllm",
    precision="bf16",
    isl=1000,
    osl=100,
    load_size=8,
    tpot_s=0.01,
)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model", "no-such-model-9b", "model: 'no-such-model-9b' is not in the model catalog"),
        ("accelerator", "tpu-v9", "accelerator: 'tpu-v9' is not in the accelerator catalog"),
        ("isl", "-5", "isl: must be a positive number"),
        ("osl", "", "osl: mean tokens a request not stated"),
        ("load", "poisson", "load: 'poisson'; allowed: concurrency, batch, static, offline"),
        ("load_size", "", "load_size: the concurrency is not stated"),
        ("tp", "1.5", "tp: must be a whole number >= 1"),
        # a vLLM result's "tp": Infinity (Python's json reads it) or "nan": int() of them
        # raised, printed "bug: OverflowError ... at importers.py:139"
        ("tp", float("inf"), "tp: must be a whole number >= 1 (got inf)"),
        ("tp", "nan", "tp: must be a whole number >= 1 (got 'nan')"),
        ("moe_ep", "1e400", "moe_ep: must be a whole number >= 1 (got '1e400')"),
        ("mode", "split", "mode: 'split'; allowed: agg, disagg"),
        ("kv_precision", "int4", "kv_precision: 'int4'; allowed:"),
        ("tpot_s", "", "ttft_s: no measured value"),
        ("accelerators", "3", "accelerators: 3 is not a multiple of the layout's 2"),
        # an engine tokenfab does not know was fitted as class other (vLLM's) without a word;
        # other is the documented choice for one it does not model, and must be spelled so
        ("engine", "tgi", "engine: 'tgi' is not a known serving engine; allowed: trtllm, sglang"),
        ("engine", "vlm", "engine: 'vlm' is not a known serving engine"),  # a misspelling
    ],
)
def test_each_bad_field_is_named(field, value, message):
    raw = {**VALID, "tp": 2 if field == "accelerators" else 1, field: value}
    out = build(raw, "x.csv:7", CAT)
    assert str(out).startswith(f"x.csv:7: {message}")


@pytest.mark.parametrize(
    ("name", "engine"),
    [("TensorRT-LLM v1.0", "trtllm"), ("sglang", "sglang"), ("vllm", "vllm"), ("other", "other")],
)
def test_a_known_engine_or_other_is_read_as_its_class(name, engine):
    # a name holding a known engine is that engine; other is the documented catch-all
    assert build({**VALID, "engine": name}, "x.csv:2", CAT).engine == engine


def test_valid_record_and_columns_documented():
    m = build(VALID, "x.csv:2", CAT)
    assert m.accelerators == 1 and m.kv_precision is None and m.era == "unknown"
    doc = (Path(__file__).parents[1] / "docs" / "calibration.md").read_text()
    for column in GENERIC_COLUMNS:
        assert f"`{column}`" in doc


def test_fp8_weight_scales_as_the_file_states_them(tmp_path):
    from tokenfab.calibrate.adapter import block_scaled

    path = tmp_path / "runs.csv"
    header = "model,accelerator,engine,precision,isl,osl,load,load_size,tpot_s\n"
    path.write_text(
        header
        + "deepseek-v3,h200-sxm,sglang,fp8,1000,1000,concurrency,8,0.05\n"  # not stated: the checkpoint's
        + "qwen3-235b-a22b,h200-sxm,trtllm,FP8 (per-tensor scales),1000,1000,concurrency,8,0.05\n"
        + "llama-3.1-8b,h200-sxm,sglang,fp8_block,1000,1000,concurrency,8,0.01\n"  # AIConfigurator's name
        + "llama-3.1-8b,h200-sxm,sglang,fp8,1000,1000,concurrency,8,0.01\n"
        + "llama-3.1-8b,h200-sxm,sglang,bf16,1000,1000,concurrency,8,0.01\n"
    )
    kept, issues = read_files([path], CAT)
    assert issues == []
    assert [m.fp8_block for m in kept] == [None, False, True, None, None]
    # DeepSeek-V3's own FP8 checkpoint scales 128 x 128 blocks (models.csv fp8_checkpoint_block)
    assert [block_scaled(m, CAT) for m in kept] == [True, False, True, False, False]


@pytest.mark.parametrize(
    ("text", "block"),
    [
        # the texts bench/data and the calibration corpus use, with what they state
        ("fp8", None),
        ("FP8 (FP8-KV checkpoint)", None),  # FP8-KV: the KV format, not a weight scaling
        ("fp8_block", True),  # AIConfigurator gemm_quant_mode
        ("FP8 (nvidia/Qwen3-235B-A22B-FP8: ModelOpt per-tensor scales)", False),
        ("fp8 per_channel", False),
        ("fp8_e4m3", None),
    ],
)
def test_fp8_scaling_words_tokenfab_reads(text, block):
    assert build({**VALID, "precision": text}, "x.csv:2", CAT).fp8_block is block


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a misspelt fp8_block read as plain "fp8" and the checkpoint decided, without a word
        ("fp8_blok", "precision: 'fp8_blok' is not an FP8 name tokenfab knows"),
        ("fp8xyz", "precision: 'fp8xyz' is not an FP8 name tokenfab knows"),
        # both scalings named: read as block-scaled, the per-tensor word dropped
        ("FP8 (per-tensor block)", "precision: 'FP8 (per-tensor block)' names both block and"),
    ],
)
def test_an_fp8_scaling_tokenfab_cannot_read_is_named_not_guessed(text, message, tmp_path):
    out = build({**VALID, "precision": text}, "x.csv:7", CAT)
    assert str(out).startswith(f"x.csv:7: {message}")
    assert "allowed" in str(out) and ": fp8, fp8_block" in str(out)
    # the same text as the --precision fallback stops the run before a file is read
    from tokenfab.calibrate.importers import check_defaults

    with pytest.raises(MeasurementFileError, match=r"^precision: .*\(option --precision\)$"):
        check_defaults({"precision": text}, CAT)
