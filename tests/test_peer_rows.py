"""bench/peer_rows.py: tokenfab's measurement records as the peer calculators' inputs.

The peers themselves (AIConfigurator, llm-analysis) live in their own virtual environments and
are not needed here: these tests check only the mapping tokenfab's side builds.
"""

from __future__ import annotations

import csv
import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

from tokenfab.calibrate.importers import read_aic
from tokenfab.calibrate.records import Layout, Measurement
from tokenfab.catalog import default_catalog

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load():
    spec = importlib.util.spec_from_file_location("peer_rows", BENCH / "peer_rows.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


peer_rows = _load()
CAT = default_catalog()

# Two rows of the AIConfigurator silicon sample (ai-dynamo/aiconfigurator, Apache-2.0; the
# copy in shared/calibration/aic_silicon_sample.csv), data-source column shortened.
AIC_CSV = """\
id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,\
gemm_quant_mode,moe_quant_mode,batch_size,tp_size,pp_size,attention_dp_size,moe_tp_size,\
moe_ep_size,prefill_batch_size,prefill_num_workers,prefill_tp_size,prefill_pp_size,\
prefill_attention_dp_size,prefill_moe_tp_size,prefill_moe_ep_size,decode_batch_size,\
decode_num_workers,decode_tp_size,decode_pp_size,decode_attention_dp_size,decode_moe_tp_size,\
decode_moe_ep_size,silicon_ttft_ms,silicon_tpot_ms
dsr1_b200_trtllm_fp4_agg_1024x8192_c256_cfg191,config_id=191; silicon_concurrency=256,trtllm,\
1.2.0rc6.post2,deepseek-ai/DeepSeek-V3,b200_sxm,fp4,agg,1024,8192,nvfp4,nvfp4,4,1,1,64,8,8,,,,,,,,\
,,,,,,,906.6183994952098,21.374843718536397
dsr1_gb200_trtllm_fp8_disagg_1024x8192_c2048_cfg375,config_id=375; silicon_concurrency=2048,\
trtllm,0.8.1.post2,deepseek-ai/DeepSeek-V3,gb200,fp8,disagg,1024,8192,fp8,fp8,,,,,,,1,1,1,1,8,1,\
8,64,1,1,1,32,1,32,1877.1552708941047,24.497003443363074
"""


@pytest.fixture(scope="module")
def aic_rows(tmp_path_factory):
    path = tmp_path_factory.mktemp("aic") / "sample.csv"
    path.write_text(AIC_CSV, encoding="utf-8")
    records, issues = read_aic(path, CAT)
    assert len(records) == 2, issues
    with path.open(newline="", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    return records, rows


def test_aic_aggregated_row_with_attention_dp(aic_rows):
    records, rows = aic_rows
    m = records[0]
    req = peer_rows.aic_request(m, rows[m.notes])
    # concurrency 256 over 64 attention-DP ranks: AIConfigurator's batch_size is per rank,
    # 256 / 64 = 4, the row's own batch_size column
    assert req["batch_size"] == 4 == int(rows[m.notes]["batch_size"])
    assert req["mode"] == "agg"
    assert (req["tp_size"], req["attention_dp_size"], req["moe_tp_size"], req["moe_ep_size"]) == (
        1,
        64,
        8,
        8,
    )
    assert req["system_name"] == "b200_sxm"
    assert req["model_path"] == "deepseek-ai/DeepSeek-V3"
    assert (req["gemm_quant_mode"], req["moe_quant_mode"]) == ("nvfp4", "nvfp4")
    assert (req["isl"], req["osl"], req["backend_name"]) == (1024, 8192, "trtllm")


def test_aic_disaggregated_row_takes_both_pools(aic_rows):
    records, rows = aic_rows
    m = records[1]
    req = peer_rows.aic_request(m, rows[m.notes])
    assert req["mode"] == "disagg"
    # the row: prefill 1 worker of tp1 x attention-dp 8 x ep 8 at batch 1; decode 1 worker of
    # attention-dp 32 x ep 32 at batch 64 (64 x 32 ranks = the 2048 clients it states)
    assert (req["prefill_batch_size"], req["prefill_num_workers"]) == (1, 1)
    assert (req["prefill_attention_dp_size"], req["prefill_moe_ep_size"]) == (8, 8)
    assert (req["decode_batch_size"], req["decode_num_workers"]) == (64, 1)
    assert (req["decode_attention_dp_size"], req["decode_moe_ep_size"]) == (32, 32)
    assert req["decode_batch_size"] * req["decode_attention_dp_size"] == m.concurrency == 2048
    # without its CSV row the pools' batch sizes are unknown: not expressed, with the reason
    why = peer_rows.aic_request(m)
    assert isinstance(why, str) and "per-pool batch sizes" in why


def _record(**kw) -> Measurement:
    base = dict(
        source="bench/data/x.csv:2",
        model="llama-3.1-70b",
        model_name="Llama-3.3-70B",
        accelerator="h100-sxm",
        accelerators=2,
        engine="trtllm",
        engine_version="1.0",
        era="1.0",
        precision="fp8",
        kv_precision=None,
        isl=1000.0,
        osl=1000.0,
        concurrency=None,
        batch=None,
        offline=True,
        layout=Layout(tp=2),
    )
    return Measurement(**{**base, **kw})


def test_published_offline_row_needs_a_batch():
    m = _record()
    assert "offline" in peer_rows.aic_request(m)
    req = peer_rows.aic_request(m, batch=250.0)
    # no CSV row: weight format fp8 -> AIConfigurator fp8 GEMMs; the Llama 3.x 70B config it ships
    assert req["batch_size"] == 250 and req["tp_size"] == 2
    assert (req["gemm_quant_mode"], req["model_path"]) == ("fp8", "meta-llama/Meta-Llama-3.1-70B")
    assert peer_rows.llm_analysis_reason(m, CAT.model(m.model)) is not None
    assert peer_rows.llm_analysis_reason(m, CAT.model(m.model), 250.0) is None
    assert peer_rows.llm_analysis_batch(m, 250.0) == 250


def test_not_expressible_records_say_why():
    amd = _record(accelerator="mi300x", offline=False, concurrency=8.0)
    assert "mi300x" in peer_rows.aic_request(amd)
    old = _record(model="gpt-j-6b", offline=False, concurrency=8.0)
    assert "gpt-j-6b" in peer_rows.aic_request(old)
    ds = _record(model="deepseek-r1", offline=False, concurrency=8.0)
    assert "MLA" in peer_rows.llm_analysis_reason(ds, CAT.model("deepseek-r1"))
    fp4 = _record(precision="fp4", offline=False, concurrency=8.0)
    assert "fp4" in peer_rows.llm_analysis_reason(fp4, CAT.model("llama-3.1-70b"))
    adp = _record(offline=False, concurrency=8.0, layout=Layout(tp=1, attention_dp=2))
    assert "attention data-parallel" in peer_rows.llm_analysis_reason(adp, CAT.model(adp.model))


def test_llama_2_70b_borrows_a_shape_twin():
    # the only difference tokenfab's catalog knows between the two: the vocabulary
    a, b = CAT.model("llama-2-70b"), CAT.model("llama-3.1-70b")
    shape = ("num_layers", "hidden_size", "num_attention_heads", "num_kv_heads")
    assert [getattr(a, k) for k in shape] == [getattr(b, k) for k in shape] == [80, 8192, 64, 8]
    assert a.intermediate_size == b.intermediate_size == 28672
    assert peer_rows.aic_model_path("llama-2-70b") == peer_rows.aic_model_path("llama-3.1-70b")


def test_mapped_names_exist_in_tokenfab_catalog():
    # every tokenfab id the tables map from is a catalog id (a renamed id would silently
    # turn rows into "not expressible")
    assert set(peer_rows.AIC_SYSTEMS) <= set(CAT.table("accelerators"))
    assert set(peer_rows.AIC_MODELS) <= set(CAT.table("models"))


def test_doctests():
    res = doctest.testmod(peer_rows, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 3 and res.failed == 0


def test_bench_peers_error_kinds_and_median(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_peers", BENCH / "bench_peers.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_peers", mod)  # its dataclasses look it up
    monkeypatch.setattr(sys, "path", list(sys.path))  # it puts bench/ first on the path
    spec.loader.exec_module(mod)
    # errors that differ only in numbers count as one kind
    a = mod.short("AssertionError: num_heads 128 should be divisible by tp_size 72")
    b = mod.short("AssertionError: num_heads 64 should be divisible by tp_size 36")
    assert a == b == "num_heads N should be divisible by tp_size N"
    # |110/100 - 1| = 10 %, |80/100 - 1| = 20 %, |100/100 - 1| = 0 %: median 10 %
    assert mod.median_abs_pct([110.0, 80.0, 100.0], [100.0, 100.0, 100.0]) == pytest.approx(10.0)
