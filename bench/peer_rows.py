"""Map tokenfab's measurement records onto the inputs of the peer calculators.

Pure functions, no peer import: the peers run in their own virtual environments
(``bench/.aic-venv``: AIConfigurator, ``bench/.peer-venv``: llm-analysis), in subprocesses that
read the requests built here as JSON (``bench/peer_aic.py``, ``bench/peer_llm_analysis.py``).
Each function returns the request, or a one-line reason (a ``str``) why the record cannot be
expressed in that peer's inputs; ``bench/bench_peers.py`` counts the reasons.

AIConfigurator (``aiconfigurator`` 0.12.0 on PyPI, Apache-2.0, ai-dynamo/aiconfigurator):
``aiconfigurator.cli.api.cli_estimate(model_path, system_name, mode=..., backend_name=...,
backend_version=..., isl=..., osl=..., batch_size=..., tp_size=..., pp_size=...,
attention_dp_size=..., moe_tp_size=..., moe_ep_size=..., gemm_quant_mode=...,
moe_quant_mode=..., prefill_*/decode_* for mode="disagg")`` returns TTFT and TPOT in ms and
output tokens/s (keyword names read from that function's signature in the installed package).
``batch_size`` is per attention data-parallel rank (its result's ``global_bs`` is
``batch_size x attention_dp_size``), as the silicon sample's own ``batch_size`` column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AIC_SYSTEMS = {
    "h100-sxm": "h100_sxm",
    "h200-sxm": "h200_sxm",
    "b200": "b200_sxm",
    "b300": "b300_sxm",
    "gb200": "gb200",
    "gb300": "gb300",
    "a100-sxm-80gb": "a100_sxm",
    "a100-pcie-80gb": "a100_pcie",
    "h100-pcie": "h100_pcie",
    "l40s": "l40s",
}
"""tokenfab accelerator id -> AIConfigurator system (a folder of
``aiconfigurator_core/systems/data/`` in the 0.12.0 wheel)."""

AIC_MODELS = {
    "deepseek-r1": "deepseek-ai/DeepSeek-R1",
    "deepseek-v3": "deepseek-ai/DeepSeek-V3",
    "llama-3.1-8b": "meta-llama/Meta-Llama-3.1-8B",
    "llama-3.1-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama-3.3-70b": "meta-llama/Meta-Llama-3.1-70B",  # same architecture as 3.1-70B
    # Llama 2 70B: the same 80 layers, widths (8192, FFN 28672) and GQA (64 query, 8 KV heads)
    # as Llama 3.1 70B in tokenfab's catalog; only the vocabulary differs (32,000 vs 128,256:
    # 0.8 B more embedding and head weights, ~1 % of the model). AIConfigurator ships no
    # Llama 2 config, so the MLPerf Llama 2 rows run on this one.
    "llama-2-70b": "meta-llama/Meta-Llama-3.1-70B",
    "llama-3.1-405b": "meta-llama/Meta-Llama-3.1-405B",
    "llama-4-maverick": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
    "llama-4-scout": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    "qwen3-32b": "Qwen/Qwen3-32B",
    "qwen3-30b-a3b": "Qwen/Qwen3-30B-A3B",
    "qwen3-235b-a22b": "Qwen/Qwen3-235B-A22B",
    "mixtral-8x7b": "mistralai/Mixtral-8x7B-v0.1",
    "mixtral-8x22b": "mistralai/Mixtral-8x22B-v0.1",
    "gpt-oss-20b": "openai/gpt-oss-20b",
    "gpt-oss-120b": "openai/gpt-oss-120b",
    "kimi-k2": "moonshotai/Kimi-K2-Instruct",
}
"""tokenfab model id -> a model config shipped in ``aiconfigurator_core/model_configs/`` (the
wheel's offline copies of Hugging Face ``config.json``; any other id would need a download)."""

AIC_SHIPPED_NAMES = frozenset(
    {
        *AIC_MODELS.values(),
        "Qwen/Qwen3-235B-A22B-FP8",
        "Qwen/Qwen3-30B-A3B-FP8",
        "Qwen/Qwen3-32B-FP8",
        "nvidia/DeepSeek-V3.1-NVFP4",
        "nvidia/Qwen3-235B-A22B-NVFP4",
        "nvidia/Llama-3.1-70B-Instruct-FP8",
    }
)
"""Model names a record may carry (``Measurement.model_name``) that the wheel ships a config
for under that same name: used as given, so the checkpoint's own quantisation is kept."""

AIC_QUANT = {
    "bf16": ("bfloat16", "bfloat16"),
    "fp16": ("bfloat16", "bfloat16"),
    "fp8": ("fp8", "fp8"),
    "fp4": ("nvfp4", "nvfp4"),
    "mxfp4": ("bfloat16", "w4a16_mxfp4"),  # gpt-oss: MXFP4 experts, 16-bit dense GEMMs
}
"""tokenfab weight format -> AIConfigurator (gemm_quant_mode, moe_quant_mode), names of its
``GEMMQuantMode`` / ``MoEQuantMode`` enums (``aiconfigurator_core/sdk/common.py``)."""

AIC_BACKENDS = ("trtllm", "sglang", "vllm")


def _int(v: Any) -> int | None:
    """An integer cell of a CSV row (``"8"``, ``"8.0"``), None when blank."""
    if v is None or str(v).strip() == "":
        return None
    return int(float(v))


def aic_model_path(model: str, model_name: str = "") -> str | None:
    """AIConfigurator model path of a record: its own name where the wheel ships that config,
    else the shipped config of the same architecture, else None.

    Examples
    --------
    >>> aic_model_path("qwen3-235b-a22b", "Qwen/Qwen3-235B-A22B-FP8")
    'Qwen/Qwen3-235B-A22B-FP8'
    >>> aic_model_path("llama-3.1-70b", "meta-llama/Llama-3.1-70B"), aic_model_path("llama-2-7b")
    ('meta-llama/Meta-Llama-3.1-70B', None)
    """
    if model_name in AIC_SHIPPED_NAMES:
        return model_name
    return AIC_MODELS.get(model)


def aic_request(
    m: Any, raw: Mapping[str, str] | None = None, batch: float | None = None
) -> dict[str, Any] | str:
    """``cli_estimate`` keyword arguments for one record, or why it cannot be expressed.

    Parameters
    ----------
    m : tokenfab.calibrate.records.Measurement
        The record (model, accelerator, engine, weight format, lengths, layout, concurrency).
    raw : mapping, optional
        The record's row of the AIConfigurator silicon CSV, where it came from one: its
        ``gemm_quant_mode`` and ``moe_quant_mode`` (``fp8_block`` is lost in tokenfab's weight
        format) and, for a disaggregated run, the per-pool batch sizes and worker counts that a
        disaggregated estimate needs.
    batch : float, optional
        The batch of one instance for an offline max-load run (where the engine chose it):
        ``bench/bench_peers.py`` gives the largest that tokenfab finds fits, as it gives
        llm-analysis.

    The engine version is not passed: the wheel holds one database version per system and
    engine (the newest), which ``bench/peer_aic.py`` uses for every row.
    """
    system = AIC_SYSTEMS.get(m.accelerator)
    if system is None:
        return f"accelerator {m.accelerator}: no AIConfigurator system"
    if m.engine not in AIC_BACKENDS:
        return f"engine {m.engine}: AIConfigurator models trtllm, sglang and vllm"
    path = aic_model_path(m.model, m.model_name)
    if path is None:
        return f"model {m.model}: no model config shipped with AIConfigurator"
    if raw is not None and (raw.get("gemm_quant_mode") or raw.get("moe_quant_mode")):
        gemm = raw.get("gemm_quant_mode") or None
        moe = raw.get("moe_quant_mode") or None
    elif m.precision in AIC_QUANT:
        gemm, moe = AIC_QUANT[m.precision]
    else:
        return f"precision {m.precision}: no AIConfigurator quant mode"
    if m.offline and not batch:
        return "offline max-load run: the batch the engine chose is not stated"
    lay = m.layout
    req: dict[str, Any] = {
        "model_path": path,
        "system_name": system,
        "backend_name": m.engine,
        "isl": round(m.isl),
        "osl": max(round(m.osl), 1),
        "gemm_quant_mode": gemm,
        "moe_quant_mode": moe,
    }
    if m.mode == "agg":
        size = batch if m.offline else (m.concurrency or m.batch)
        if not size:
            return "no concurrency or batch stated"
        adp = max(lay.attention_dp, 1)
        return {
            **req,
            "mode": "agg",
            "batch_size": max(round(size / adp), 1),
            "tp_size": lay.tp,
            "pp_size": lay.pp,
            "attention_dp_size": adp,
            "moe_tp_size": lay.moe_tp,
            "moe_ep_size": lay.moe_ep,
        }
    # disaggregated: both pools' batch and worker counts must be stated
    need = ("prefill_batch_size", "prefill_num_workers", "decode_batch_size", "decode_num_workers")
    got = {k: _int((raw or {}).get(k)) for k in need}
    missing = [k for k, v in got.items() if not v]
    if missing:
        return "disaggregated run without per-pool batch sizes and worker counts"
    pre = m.prefill_layout or lay
    return {
        **req,
        "mode": "disagg",
        **got,
        "prefill_tp_size": pre.tp,
        "prefill_pp_size": pre.pp,
        "prefill_attention_dp_size": pre.attention_dp,
        "prefill_moe_tp_size": pre.moe_tp,
        "prefill_moe_ep_size": pre.moe_ep,
        "decode_tp_size": lay.tp,
        "decode_pp_size": lay.pp,
        "decode_attention_dp_size": lay.attention_dp,
        "decode_moe_tp_size": lay.moe_tp,
        "decode_moe_ep_size": lay.moe_ep,
    }


LLM_ANALYSIS_DTYPES = {"fp8": "w8a8e16", "fp16": "w16a16e16", "bf16": "w16a16e16"}
"""tokenfab weight format -> llm-analysis dtype config name (weights, activations, embedding
bits); it has no 4-bit floating-point format."""


def llm_analysis_reason(m: Any, model: Any, batch: float | None = None) -> str | None:
    """Why llm-analysis 0.2.2 cannot express a record (None: it can).

    Its ``ParallelismConfig`` has tensor, pipeline, data and expert parallel degrees but no
    attention data-parallel; its attention is multi-head/grouped-query only (no MLA, so
    DeepSeek's compressed KV cache cannot be stated); its decode is one fixed batch, so a
    disaggregated decode pool or an offline max-load run (unless ``batch`` gives one) has no
    batch to give it.
    """
    if m.mode != "agg":
        return "disaggregated run: its decode pool's batch is not stated"
    if m.offline and not batch:
        return "offline max-load run: the batch the engine chose is not stated"
    if m.precision not in LLM_ANALYSIS_DTYPES:
        return f"precision {m.precision}: no llm-analysis dtype"
    if getattr(model, "kv_lora_rank", None):
        return "MLA attention: llm-analysis has multi-head/grouped-query attention only"
    if m.layout.attention_dp > 1:
        return "attention data-parallel: llm-analysis has no such degree"
    if m.layout.pp > 1:
        return "pipeline parallel: llm-analysis's inference() is tensor-parallel only"
    if model.num_experts and m.layout.moe_ep > 1:
        return "expert parallel in inference: llm-analysis splits experts by TP only"
    if not (m.concurrency or m.batch or (m.offline and batch)):
        return "no concurrency or batch stated"
    return None


def llm_analysis_batch(m: Any, batch: float | None = None) -> int:
    """The batch given to llm-analysis: the closed-loop concurrency (or stated batch) of the
    record, ``batch`` for an offline max-load run; its batch is per GPU of a tensor-parallel
    group, which is the same number (each GPU holds a slice of every sequence).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> llm_analysis_batch(NS(concurrency=64.0, batch=None, offline=False))
    64
    """
    return max(round(batch if m.offline else (m.concurrency or m.batch)), 1)
