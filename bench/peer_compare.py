"""Compare tokenfab with a peer calculator, llm-analysis, on published throughput measurements.

Rows: the output-throughput measurements in ``bench/data/measured_throughput.csv`` that both
tools can express -- dense Llama, GPT-J and Mixtral on A100 / H100 / H200 / L40S in FP8 or
FP16. For each row this prints the measured output tokens/s, tokenfab's prediction (its fitted
efficiencies from ``data/efficiency.csv``) and llm-analysis's (its default efficiencies), with
the error of each, then a summary: median and max |error| and configurations evaluated a second.

llm-analysis (https://pypi.org/project/llm-analysis/) lives in its own virtual environment,
``bench/.peer-venv``, created here on the first run; it runs in a subprocess
(``bench/peer_llm_analysis.py``), which times its own loop over the configs. If the venv cannot
be installed (offline machine), this says so and exits 0 so that ``make bench`` goes on.

Run: ``python bench/peer_compare.py`` (writes ``out/bench/peer_throughput.md`` too, an ignored
folder, so ``make bench`` leaves the checkout unmodified); ``--write`` updates the stored
``bench/results/peer_throughput.md`` that README.md quotes. Here tokenfab's errors are
in-sample; ``bench/bench_peers.py`` puts tokenfab held out beside AIConfigurator and
llm-analysis on the same rows (``bench/results/peer_compare.md``).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tokenfab.catalog import Accelerator, Catalog, Model, default_catalog
from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.perf import calibration as cal
from tokenfab.perf.operating import estimate
from tokenfab.perf.precision import BYTES_PER_ELEMENT
from tokenfab.perf.serving import max_batch_size
from tokenfab.scenario import Scenario

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data" / "measured_throughput.csv"
RESULT = BENCH / "results" / "peer_throughput.md"
SCRATCH = BENCH.parent / "out" / "bench" / "peer_throughput.md"
PEER_VENV = BENCH / ".peer-venv"
PEER_PACKAGE = "llm-analysis==0.2.2"
PEER_HELPER = BENCH / "peer_llm_analysis.py"
REPEATS = 5

ACCELERATORS = ("a100-sxm-80gb", "a100-pcie-80gb", "h100-sxm", "h200-sxm", "l40s")
MODELS = ("llama-", "gpt-j-6b", "mixtral-8x7b")  # id prefixes
PEER_GPUS = {
    "a100-sxm-80gb": "a100-sxm-80gb",
    "a100-pcie-80gb": "a100-pcie-80gb",
    "h100-sxm": "h100-sxm-80gb",
}
"""Our accelerators that llm-analysis ships a GPU config for; H200 and L40S get one built from
our catalog's datasheet figures (marked * in the table)."""
PEER_MODELS = {"gpt-j-6b": "EleutherAI_gpt-j-6b"}
"""Our models that llm-analysis ships a config for with the right shape. Its Llama-2-70B config
(``upstage_Llama-2-70b-instruct-v2``) and its Hugging Face loader set the FFN width to 4x hidden,
which undercounts a gated FFN, so the others are built from our catalog (marked * too)."""
PEER_DTYPES = {"fp8": "w8a8e16", "fp16": "w16a16e16"}
PEER_MIN_MESSAGE_S = 8e-6  # intra_node_min_message_latency of every NVIDIA config it ships


# --------------------------------------------------------------------------------------------
# The peer's environment and configs
# --------------------------------------------------------------------------------------------


def peer_python() -> Path | None:
    """The peer venv's python with llm-analysis installed, creating the venv if needed."""
    py = PEER_VENV / "bin" / "python"
    probe = "from importlib.metadata import version; print(version('llm-analysis'))"
    want = PEER_PACKAGE.split("==")[1]
    if py.exists():
        got = subprocess.run([py, "-c", probe], capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == want:
            return py
    print(f"peer_compare: installing {PEER_PACKAGE} into bench/.peer-venv (one time) ...")
    pip = [py, "-m", "pip", "install", "-q", PEER_PACKAGE]
    steps = ([sys.executable, "-m", "venv", PEER_VENV], pip)
    for cmd in steps:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            res = subprocess.CompletedProcess(cmd, 1, "", str(exc))
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
            print(f"peer_compare: SKIPPED -- could not install {PEER_PACKAGE} ({tail[0]})")
            return None
    return py


def peer_model(m: Model) -> dict[str, Any] | str:
    """llm-analysis ModelConfig of a catalog model.

    Its MLP has two matrices of width ``ffn_embed_dim`` (times ``moe_num_experts``); a gated FFN
    has three of ``intermediate_size``, so the width given is 1.5x, which keeps the weight
    bytes it streams right.
    """
    if m.id in PEER_MODELS:
        return PEER_MODELS[m.id]
    width = m.moe_intermediate_size if m.num_experts else m.intermediate_size
    ffn = int(width * (1.5 if m.ffn_gated else 1.0))
    return {
        "name": m.id,
        "num_layers": m.num_layers,
        "n_head": m.num_attention_heads,
        "hidden_dim": m.hidden_size,
        "vocab_size": m.vocab_size,
        "max_seq_len": m.max_context_tokens,
        "num_key_value_heads": m.num_kv_heads,
        "ffn_embed_dim": ffn,
        "expansion_ratio": ffn / m.hidden_size,
        "moe_num_experts": max(m.num_experts, 1),
        "moe_top_k": max(m.experts_per_token, 1),
    }


def peer_gpu(acc: Accelerator) -> dict[str, Any] | str:
    """llm-analysis GPUConfig: its own where it ships one, else from our datasheet figures."""
    if acc.id in PEER_GPUS:
        return PEER_GPUS[acc.id]
    link = acc.scaleup_bandwidth_gb_s or cal.PCIE_BIDIR_GB_S
    return {
        "name": acc.id,
        "mem_per_GPU_in_GB": acc.memory_gb,
        "hbm_bandwidth_in_GB_per_sec": acc.memory_bandwidth_tb_s * 1e3,
        "intra_node_bandwidth_in_GB_per_sec": link / 2,  # one direction, as its H100 config (450)
        "intra_node_min_message_latency": PEER_MIN_MESSAGE_S,
        "peak_fp16_TFLOPS": acc.bf16_dense_tflops,
        "peak_i8_TFLOPS": acc.fp8_dense_tflops or acc.int8_dense_tops,
    }


def peer_config(catalog: Catalog, m: cal.Measurement, batch: float) -> dict[str, Any]:
    """One row as the JSON config bench/peer_llm_analysis.py reads."""
    return {
        "model": peer_model(catalog.model(m.model)),
        "gpu": peer_gpu(catalog.accelerator(m.accelerator)),
        "dtype": PEER_DTYPES[m.precision],
        "tp": m.tensor_parallel,
        "batch": int(batch) if m.mode == "offline" else int(m.batch),
        "input_tokens": m.input_tokens,
        "output_tokens": m.output_tokens,
        "kv_bytes": BYTES_PER_ELEMENT[m.kv_precision],
    }


def run_peer(py: Path, configs: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    request = json.dumps({"repeats": repeats, "configs": configs})
    cmd = [py, PEER_HELPER]
    res = subprocess.run(cmd, input=request, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"{PEER_HELPER.name}: {res.stderr.strip()[-1000:]}")
    return json.loads(res.stdout)


# --------------------------------------------------------------------------------------------
# tokenfab
# --------------------------------------------------------------------------------------------


def select_rows(catalog: Catalog) -> list[cal.Measurement]:
    items, _ = cal.read_measurements(str(DATA), catalog)
    return [
        m
        for m in items
        if m.metric == "output_tok_s_total"
        and m.accelerator in ACCELERATORS
        and m.model.startswith(MODELS)
        and m.precision in PEER_DTYPES
    ]


def fitted_factors(ma: cal.MeasurementArrays) -> dict[str, Any]:
    """Each row's fitted efficiencies, as the keyword arguments predict_measurements takes."""
    names = [n for n in inspect.signature(cal.predict_measurements).parameters if n != "ma"]
    return {n: getattr(ma.base_engine, n) for n in names if hasattr(ma.base_engine, n)}


def batches(ma: cal.MeasurementArrays) -> np.ndarray:
    """Batch of each row: published, or for max-load offline rows the largest that tokenfab
    finds fits (capped by the request count), as predict_measurements uses."""
    sizes = (ma.wbpp, ma.kvb, ma.input_tokens, ma.output_tokens)
    bmax = max_batch_size(ma.shape, ma.hw, ma.base_engine, ma.layout, *sizes)
    return np.maximum(np.minimum(ma.batch, bmax), 1.0)


def scenario(m: cal.Measurement, batch: float) -> Scenario:
    return Scenario(
        model=m.model,
        accelerator=m.accelerator,
        accelerators=m.accelerators,
        tensor_parallel=m.tensor_parallel,
        pipeline_parallel=1,
        precision=m.precision,
        kv_precision=m.kv_precision,
        software="vllm" if m.software == "vllm" else "trtllm",
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        batch_size=int(batch),
    )


def estimate_all(scenarios: list[Scenario], catalog: Catalog) -> int:
    """Run estimate() on every scenario; the number that succeeded."""
    ok = 0
    for s in scenarios:
        try:
            estimate(s, catalog)
            ok += 1
        except (InfeasibleError, ScenarioError):
            pass
    return ok


def label(m: cal.Measurement, batch: int) -> str:
    return (
        f"{m.model} {m.accelerators}x{m.accelerator} {m.precision} "
        f"{m.input_tokens}/{m.output_tokens} {m.mode} b={batch} ({m.software}, row {m.row})"
    )


def timed(fn: Any, repeats: int = REPEATS) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs [s]."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def err_pct(pred: float | None, measured: float) -> float | None:
    return None if pred is None else 100.0 * (pred / measured - 1.0)


def fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None or not np.isfinite(v) else format(v, spec)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])


def summary_row(name: str, errors: list[float | None] | None, per_s: float | None) -> list[str]:
    """Errors of one tool's predictions and its speed; ``errors=None``: a speed-only row."""
    if errors is None:
        return [name, "", "", "", "", fmt(per_s, ",.0f")]
    e = np.array([x for x in errors if x is not None])
    stats = (np.median(np.abs(e)), np.max(np.abs(e)), np.median(e)) if e.size else (None,) * 3
    return [
        name,
        str(e.size),
        fmt(stats[0], ".1f"),
        fmt(stats[1], ".1f"),
        fmt(stats[2], "+.1f"),
        fmt(per_s, ",.0f"),
    ]


NOTES = """\
Rows: {rows} output-throughput measurements from bench/data/measured_throughput.csv (not MLPerf).
Batch: the published batch or concurrency; for max-load offline rows the largest batch tokenfab
finds fits (its max_batch_size, capped by the request count), given to both tools.
tokenfab uses its fitted factors (data/efficiency.csv); they were fitted to these rows among
others (bench/calibrate.py), so its errors here are in-sample (efficiency.csv lists each group's
leave-one-out errors). llm-analysis uses its defaults: flops and HBM efficiency 1.0.
The last summary row gives llm-analysis tokenfab's compute and bandwidth factors instead.
* llm-analysis config built from tokenfab's catalog (it ships none for H200, L40S, Llama 3.x,
  Mixtral; its Llama-2-70B config has a 4x-hidden FFN). ^ batch cut to the largest its memory
  model accepts ({capped} rows).
Speed: median of {repeats} repeats (time.perf_counter). llm-analysis: a loop of
LLMAnalysis(...).inference(...) timed inside its subprocess. estimate(): layout and batch given,
one configuration a call ({estimated} of {rows} rows; {refused}). predict_measurements x{k}:
{k} factor sets against every row in one call, as the calibration's grid search uses it."""


def main() -> int:
    py = peer_python()
    if py is None:
        return 0
    catalog = default_catalog()
    rows = select_rows(catalog)
    ma = cal.stack_measurements(rows, catalog)
    factors = fitted_factors(ma)
    bsz = batches(ma)

    # tokenfab: vectorised prediction, K factor sets at once, and a loop of estimate() calls
    ours = cal.predict_measurements(ma, **factors)
    predict_s = timed(lambda: cal.predict_measurements(ma, **factors))
    k = 100
    many = {n: np.broadcast_to(v, bsz.shape) * np.ones((k, 1)) for n, v in factors.items()}
    many_s = timed(lambda: cal.predict_measurements(ma, **many))
    scenarios = [scenario(m, b) for m, b in zip(rows, bsz, strict=True)]
    estimated = estimate_all(scenarios, catalog)
    estimate_s = timed(lambda: estimate_all(scenarios, catalog))

    # llm-analysis: default efficiencies, then tokenfab's compute and bandwidth factors
    configs = [peer_config(catalog, m, b) for m, b in zip(rows, bsz, strict=True)]
    ce = np.broadcast_to(factors["compute_efficiency"], bsz.shape)
    bw = np.broadcast_to(factors["bw_efficiency"], bsz.shape)
    tuned = [
        {**c, "flops_efficiency": float(f), "hbm_memory_efficiency": float(h)}
        for c, f, h in zip(configs, ce, bw, strict=True)
    ]
    try:
        peer = run_peer(py, configs, REPEATS)
        peer_tuned = run_peer(py, tuned, 0)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"peer_compare: SKIPPED -- llm-analysis run failed: {exc}")
        return 0
    peer_s = float(np.median(peer["seconds"]))
    version = peer["version"]

    body, e_ours, e_peer, e_tuned = [], [], [], []
    for i, m in enumerate(rows):
        p, pt = (
            None if r["output_tok_s"] is None else r["output_tok_s"] * float(ma.replicas[i])
            for r in (peer["results"][i], peer_tuned["results"][i])
        )
        e_ours.append(err_pct(float(ours[i]), m.measured))
        e_peer.append(err_pct(p, m.measured))
        e_tuned.append(err_pct(pt, m.measured))
        custom = "*" if m.accelerator not in PEER_GPUS or m.model not in PEER_MODELS else ""
        capped = f" (b={peer['results'][i]['batch']}^)" if peer["results"][i]["capped"] else ""
        body.append(
            [
                label(m, configs[i]["batch"]),
                fmt(m.measured, ",.0f"),
                fmt(float(ours[i]), ",.0f"),
                fmt(e_ours[-1], "+.1f"),
                fmt(p, ",.0f") + custom,
                fmt(e_peer[-1], "+.1f") + capped,
            ]
        )
    head = [
        "config",
        "measured",
        "tokenfab",
        "tokenfab err %",
        "llm-analysis",
        "llm-analysis err %",
    ]
    per_row = table(head, body)
    summary = table(
        ["tool", "rows", "median abs err %", "max abs err %", "median err %", "configs/s"],
        [
            summary_row("tokenfab, predict_measurements", e_ours, len(rows) / predict_s),
            summary_row(f"tokenfab, predict_measurements x{k}", None, k * len(rows) / many_s),
            summary_row("tokenfab, loop of operating.estimate()", None, estimated / estimate_s),
            summary_row(f"llm-analysis {version}", e_peer, peer["timed_configs"] / peer_s),
            summary_row(f"llm-analysis {version}, tokenfab's factors", e_tuned, None),
        ],
    )
    n_capped = sum(r["capped"] for r in peer["results"])
    refused = "none refused" if estimated == len(rows) else "it refuses the others' layout"
    notes = NOTES.format(
        rows=len(rows), capped=n_capped, repeats=REPEATS, k=k, estimated=estimated, refused=refused
    )
    text = (
        f"Measured vs predicted output tokens/s (total over the run's GPUs).\n\n{per_row}\n\n"
        f"{summary}\n\n{notes}\n"
    )
    print(text)
    target = RESULT if "--write" in sys.argv[1:] else SCRATCH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"# tokenfab vs llm-analysis {version}\n\n{text}", encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
