"""Run llm-analysis on configs read as JSON from stdin; write its predictions as JSON to stdout.

Executed by ``bench/peer_compare.py`` with the python of ``bench/.peer-venv`` (llm-analysis
0.2.2 and its pinned dependencies live there, apart from tokenfab's). Input::

    {"repeats": 5, "configs": [{"model": {...ModelConfig fields...} | "<its model name>",
      "gpu": {...GPUConfig fields...} | "<its gpu name>", "dtype": "w8a8e16", "tp": 2,
      "batch": 256, "input_tokens": 1000, "output_tokens": 1000, "kv_bytes": 1,
      "flops_efficiency": null, "hbm_memory_efficiency": null}, ...]}

Output: one result a config (output tokens/s of one tensor-parallel group, its decode step
time ``tpot_s`` and, where the config asks ``"ttft": true``, its prefill time of one prompt
``ttft_s``, the batch used, whether it was capped to llm-analysis's own memory limit) and the
wall time of each repeat of a loop over all configs.
"""

import json
import logging
import sys
import time
from importlib.metadata import version

from llm_analysis.analysis import LLMAnalysis
from llm_analysis.config import (
    DtypeConfig,
    GPUConfig,
    ModelConfig,
    ParallelismConfig,
    get_dtype_config_by_name,
    get_gpu_config_by_name,
    get_model_config_by_name,
)
from llm_analysis.logger import logger


def analysis(cfg: dict) -> LLMAnalysis:
    model = cfg["model"]
    gpu = cfg["gpu"]
    return LLMAnalysis(
        ModelConfig(**model) if isinstance(model, dict) else get_model_config_by_name(model),
        GPUConfig(**gpu) if isinstance(gpu, dict) else get_gpu_config_by_name(gpu),
        get_dtype_config_by_name(cfg["dtype"]) if cfg.get("dtype") else DtypeConfig(),
        ParallelismConfig(tp_size=cfg["tp"]),
        flops_efficiency=cfg.get("flops_efficiency"),
        hbm_memory_efficiency=cfg.get("hbm_memory_efficiency"),
    )


def infer(cfg: dict, batch: int) -> dict:
    return analysis(cfg).inference(
        batch_size_per_gpu=batch,
        seq_len=cfg["input_tokens"],
        num_tokens_to_generate=cfg["output_tokens"],
        kv_cache_dtype_bytes=cfg["kv_bytes"],
    )


def largest_batch(cfg: dict) -> int:
    """The largest batch llm-analysis's own memory model accepts (bisection on its assert)."""
    lo, hi = 0, int(cfg["batch"])
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            infer(cfg, mid)
            lo = mid
        except AssertionError:
            hi = mid - 1
    return lo


def latencies(cfg: dict, out: dict) -> dict:
    """TPOT: its decode step at the batch; TTFT (``"ttft": true`` in the config): its prefill
    of one prompt (batch 1), as it has no queueing."""
    got = {"tpot_s": out["decode_latency"]}
    if cfg.get("ttft"):
        got["ttft_s"] = infer(cfg, 1)["prefill_latency"]
    return got


def evaluate(cfg: dict) -> dict:
    batch = int(cfg["batch"])
    try:
        out = infer(cfg, batch)
        return {
            "output_tok_s": out["total_tokens_per_sec"],
            "batch": batch,
            "capped": False,
            **latencies(cfg, out),
        }
    except AssertionError as exc:
        reason = str(exc).split(",")[0]
    cap = largest_batch(cfg)
    if cap < 1:
        return {"output_tok_s": None, "batch": 0, "capped": True, "error": reason}
    out = infer(cfg, cap)
    return {
        "output_tok_s": out["total_tokens_per_sec"],
        "batch": cap,
        "capped": True,
        "error": reason,
        **latencies(cfg, out),
    }


def main() -> None:
    logger.setLevel(logging.ERROR)  # its INFO/WARNING lines would flood stderr
    request = json.load(sys.stdin)
    configs = request["configs"]
    results = [evaluate(c) for c in configs]
    runnable = [(c, r["batch"]) for c, r in zip(configs, results, strict=True) if r["batch"] >= 1]
    seconds = []
    for _ in range(int(request.get("repeats", 5))):
        t0 = time.perf_counter()
        for cfg, batch in runnable:
            infer(cfg, batch)
        seconds.append(time.perf_counter() - t0)
    out = {"version": version("llm-analysis"), "results": results, "seconds": seconds}
    json.dump({**out, "timed_configs": len(runnable)}, sys.stdout)


if __name__ == "__main__":
    main()
