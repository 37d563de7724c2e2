"""Synthetic request logs for demos, tests and benchmarks, in the generic schema.

Every distribution parameter is in ``PARAMS`` with where it comes from: seed 004 (the
OpenRouter "100 trillion token" usage study, /work/shared/seeds/004_*.txt), seed 001 (the
inference-demand essay), the price catalog, or "assumed" (a round number chosen for
plausibility, to be replaced by a user's own log). The generator is checked against its own
parameters (tests/test_usage_synth.py); that is a generator check, not a validation.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tokenfab.fileio import atomic_output, check_output_path
from tokenfab.usage.schema import MAX_DAYS, MAX_ROWS, UsageLogError


@dataclass(frozen=True)
class Param:
    """One generator parameter and its source."""

    value: Any
    source: str


SEED_004 = "seed 004 (OpenRouter 100T-token study, 2025)"
SEED_001 = "seed 001 (inference demand essay)"

# category: request share, prompt median [tokens], prompt lognormal sigma, steps per task (mean), app
CATEGORIES = ("roleplay", "programming", "general", "translation", "research")
PARAMS: dict[str, Param] = {
    "category_share": Param(
        (0.32, 0.28, 0.25, 0.07, 0.08),
        f"assumed; order from {SEED_004}: roleplay over half of open-source tokens, programming second",
    ),
    "prompt_median_tokens": Param(
        (1800.0, 6000.0, 600.0, 900.0, 3000.0),
        f"programming: {SEED_004} (queries often over 20,000 input tokens: P(>20k) = 16% here); others assumed",
    ),
    "prompt_sigma": Param((1.0, 1.2, 1.0, 0.7, 1.0), "assumed (lognormal spread)"),
    "prompt_growth_per_year": Param(
        4.0, f"{SEED_004}: average prompt tokens per request grew fourfold in a year"
    ),
    "steps_per_task_mean": Param(
        (3.0, 8.0, 1.5, 1.0, 6.0), f"assumed; {SEED_001}: agents chain many calls per task"
    ),
    "visible_output_median_tokens": Param(
        300.0, f"{SEED_001}: a question that once generated 300 tokens"
    ),
    "visible_output_sigma": Param(0.8, "assumed"),
    "reasoning_median_tokens": Param(
        1500.0,
        f"assumed, below {SEED_001}'s 5,000-50,000 for hard questions (most requests are not)",
    ),
    "reasoning_sigma": Param(1.0, "assumed"),
    "cached_share_after_first_step": Param(0.6, "assumed: later steps of a task resend its prefix"),
    "error_rate": Param(0.02, "assumed"),
    "cost_mismatch_rate": Param(
        0.005, "assumed: rows whose logged cost is 20% above list, to exercise reconciliation"
    ),
    "ttft_base_s": Param(0.3, "assumed"),
    "prefill_tok_s": Param(5000.0, "assumed"),
    "decode_tok_s": Param(60.0, "assumed"),
    "latency_sigma": Param(0.3, "assumed"),
    "diurnal_amplitude": Param(0.5, "assumed: peak hour 1.5x, trough 0.5x the mean"),
    "users": Param(10_000, "assumed"),
}

# model name (as the provider reports it), provider, reasoning?, share of requests in each category
MODELS: tuple[tuple[str, str, bool, tuple[float, ...]], ...] = (
    ("gpt-4o-2024-08-06", "openai", False, (0.10, 0.15, 0.30, 0.30, 0.10)),
    ("gpt-4o-mini", "openai", False, (0.15, 0.05, 0.25, 0.40, 0.05)),
    ("claude-sonnet-4-5-20250929", "anthropic", False, (0.05, 0.35, 0.10, 0.05, 0.15)),
    ("gemini-2.5-flash", "google", True, (0.10, 0.10, 0.15, 0.15, 0.20)),
    ("deepseek-reasoner", "deepseek", True, (0.35, 0.10, 0.05, 0.0, 0.15)),
    ("o3-mini", "openai", True, (0.0, 0.20, 0.10, 0.0, 0.30)),
    ("llama-3.1-8b-instant", "groq", False, (0.24, 0.04, 0.04, 0.10, 0.04)),
    ("acme-ft-7b", "self-hosted", False, (0.01, 0.01, 0.01, 0.0, 0.01)),
)
MODEL_SOURCE = "assumed mix; over half the tokens through reasoning models as in " + SEED_004
APPS = {
    "roleplay": "companion",
    "programming": "ide-assistant",
    "general": "support-bot",
    "translation": "doc-translate",
    "research": "research-agent",
}
START = _dt.datetime(2025, 10, 1, tzinfo=_dt.UTC)
CHUNK_ROWS = 1_000_000


def _prices() -> dict[str, tuple[float, float, float]]:
    """(input, cached, output) USD/Mtok of each synthetic model; 0 for the unknown one."""
    from tokenfab.catalog import default_catalog
    from tokenfab.usage.prices import resolve

    found, _ = resolve([m[0] for m in MODELS], default_catalog(), START.date())
    return {
        m[0]: (
            (
                found[m[0]].input_usd_per_mtok,
                found[m[0]].cached_input_usd_per_mtok,
                found[m[0]].output_usd_per_mtok,
            )
            if m[0] in found
            else (0.0, 0.0, 0.0)
        )
        for m in MODELS
    }


def _task_starts(
    rng: np.random.Generator, m: int, lo_s: float, hi_s: float, weight: np.ndarray
) -> np.ndarray:
    """``m`` times [s] in [lo_s, hi_s), uniform but for an hour-of-day ``weight`` (24 values),
    by rejection: a time is kept with probability weight(its hour) / max(weight)."""
    out: list[np.ndarray] = []
    have = 0
    while have < m:
        t = lo_s + rng.random(int((m - have) * weight.max() / weight.mean() * 1.1) + 16) * (
            hi_s - lo_s
        )
        hour = (t // 3600.0).astype(np.int64) % 24
        t = t[rng.random(t.size) * weight.max() < weight[hour]]
        out.append(t)
        have += t.size
    return np.concatenate(out)[:m]


def _chunk(
    rng: np.random.Generator,
    n: int,
    window_s: tuple[float, float],
    first_task: int,
    prices,
) -> tuple[pa.Table, int]:
    """``n`` requests of tasks that start in ``window_s`` [s after START], in time order."""
    p = {k: v.value for k, v in PARAMS.items()}
    # tasks first: a category per task, then geometric steps with the category's mean;
    # task shares are request shares over steps, so requests end up in the stated shares
    steps_mean = np.asarray(p["steps_per_task_mean"])
    task_share = np.asarray(p["category_share"]) / steps_mean
    task_share /= task_share.sum()
    n_tasks = int(n / float(task_share @ steps_mean) * 1.1) + 10
    task_cat = rng.choice(len(CATEGORIES), n_tasks, p=task_share)
    steps = rng.geometric(1.0 / steps_mean[task_cat])
    keep = np.searchsorted(np.cumsum(steps), n) + 1
    task_cat, steps = task_cat[:keep], steps[:keep]
    steps[-1] -= steps.sum() - n
    start = np.concatenate(([0], np.cumsum(steps)[:-1]))
    task = first_task + np.repeat(np.arange(keep), steps)
    step = np.arange(n) - np.repeat(start, steps)
    cat = np.repeat(task_cat, steps)
    # time: a task starts uniformly in the window but for a diurnal weight on its hour; its
    # steps follow each other by ~20 s
    hours = np.arange(24)
    w = 1 + p["diurnal_amplitude"] * np.sin(2 * np.pi * (hours - 9) / 24)
    t0_s = _task_starts(rng, start.size, *window_s, w)
    ts_s = np.repeat(t0_s, np.diff(np.append(start, n))) + step * 20.0
    # model per task, by its category's mix
    mix = np.array([m[3] for m in MODELS]).T  # category x model
    mix = mix / mix.sum(axis=1, keepdims=True)
    u = rng.random(start.size)
    model_t = (u[:, None] > np.cumsum(mix[cat[start]], axis=1)).sum(axis=1)
    model = np.repeat(model_t, np.diff(np.append(start, n)))
    reasoning_model = np.array([m[2] for m in MODELS])[model]
    growth = p["prompt_growth_per_year"] ** (ts_s / (365.0 * 86400.0))
    median = np.asarray(p["prompt_median_tokens"])[cat] * growth
    sigma = np.asarray(p["prompt_sigma"])[cat]
    prompt = np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(n)))).astype(
        np.int64
    )
    cached = np.where(step > 0, np.rint(prompt * p["cached_share_after_first_step"]), 0).astype(
        np.int64
    )
    visible = np.maximum(
        1,
        np.rint(
            p["visible_output_median_tokens"]
            * np.exp(p["visible_output_sigma"] * rng.standard_normal(n))
        ),
    ).astype(np.int64)
    reasoning = np.where(
        reasoning_model,
        np.rint(
            p["reasoning_median_tokens"] * np.exp(p["reasoning_sigma"] * rng.standard_normal(n))
        ),
        0,
    ).astype(np.int64)
    output = visible + reasoning
    pin, pca, pout = (np.array([prices[m[0]][i] for m in MODELS])[model] for i in range(3))
    cost = ((prompt - cached) * pin + cached * pca + output * pout) / 1e6
    cost = np.where(rng.random(n) < p["cost_mismatch_rate"], cost * 1.2, cost)
    unknown = np.array([m[0] == "acme-ft-7b" for m in MODELS])[model]
    ttft = (p["ttft_base_s"] + (prompt - cached) / p["prefill_tok_s"]) * np.exp(
        p["latency_sigma"] * rng.standard_normal(n)
    )
    latency = ttft + output / p["decode_tok_s"] * np.exp(
        p["latency_sigma"] * rng.standard_normal(n)
    )
    error = rng.random(n) < p["error_rate"]
    ts_us = (START.timestamp() + ts_s) * 1e6

    def dict_col(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values))

    table = pa.table(
        {
            "timestamp": pa.array(ts_us.astype(np.int64), pa.timestamp("us", tz="UTC")),
            "model": dict_col(model, [m[0] for m in MODELS]),
            "provider": dict_col(model, [m[1] for m in MODELS]),
            "input_tokens": prompt,
            "cached_input_tokens": cached,
            "output_tokens": output,
            "reasoning_tokens": reasoning,
            "cost_usd": pa.array(cost, mask=unknown),
            "latency_s": latency,
            "ttft_s": ttft,
            "status": dict_col(error.astype(np.int64), ["success", "error"]),
            "app": dict_col(cat, [APPS[c] for c in CATEGORIES]),
            "category": dict_col(cat, list(CATEGORIES)),
            "user": rng.integers(0, p["users"], n),
            "task_id": task.astype(np.int64),
        }
    )
    # rows in time order, as a gateway or provider writes its log (tasks interleave)
    return table.take(np.argsort(ts_us, kind="stable")), int(task[-1]) + 1


def synth(rows: int, out: str | Path, days: float = 30.0, seed: int = 0) -> Path:
    """Write ``rows`` synthetic requests over ``days`` days to a Parquet file.

    Raises
    ------
    UsageLogError
        ``rows`` below 1, ``days`` below 1, or an output path that is not ``.parquet``/``.csv``/``.jsonl``.
    """
    if not 1 <= rows <= MAX_ROWS:
        raise UsageLogError(f"--rows: must be at least 1 and at most {MAX_ROWS:,} (got {rows})")
    if not 1 <= days <= MAX_DAYS:  # NaN fails too
        raise UsageLogError(f"--days: must be at least 1 and at most {MAX_DAYS:g} (got {days})")
    if seed < 0:
        raise UsageLogError(f"--seed: must be 0 or more (got {seed})")
    path = Path(out)
    kind = path.suffix.lower()
    if kind not in (".parquet", ".csv", ".jsonl"):
        raise UsageLogError(f"--out: {path}: allowed file types .parquet, .csv, .jsonl")
    rng = np.random.default_rng(seed)
    prices = _prices()
    writer = None
    task = 0
    check_output_path(path)  # its folder must exist: a writer never creates missing folders
    # written to a temporary file beside ``path`` and renamed when complete: an interrupted
    # run (Ctrl-C, a full disk) leaves no partial log behind
    done = 0
    # the log is written in time order, as real logs are: chunk k of K holds the tasks that
    # start in the k-th K-th of the span, and rows of a chunk's last tasks that fall after
    # its window's end wait for the next chunk
    span_s = int(days) * 86400.0
    chunks = -(-rows // CHUNK_ROWS)
    carry: pa.Table | None = None
    k = 0
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        try:
            while done < rows:
                # rows made so far: those written and those waiting
                n = min(CHUNK_ROWS, rows - done - (0 if carry is None else carry.num_rows))
                lo, hi = span_s * k / chunks, span_s * (k + 1) / chunks
                k += 1
                table, task = _chunk(rng, n, (lo, hi), task, prices)
                if carry is not None:
                    table = pa.concat_tables([carry, table])
                    table = table.take(pc.sort_indices(table, [("timestamp", "ascending")]))
                end = hi if done + table.num_rows < rows else None
                cut = (
                    table.num_rows
                    if end is None
                    else int(
                        np.searchsorted(
                            table.column("timestamp").cast(pa.int64()).to_numpy(),
                            int((START.timestamp() + end) * 1e6),
                        )
                    )
                )
                table, carry = table.slice(0, cut), table.slice(cut)
                n = table.num_rows
                if kind == ".parquet":
                    if writer is None:
                        writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
                    writer.write_table(table, row_group_size=256_000)
                elif kind == ".csv":
                    import pyarrow.csv as pacsv

                    plain = table.cast(
                        pa.schema(
                            [
                                (
                                    f.name,
                                    f.type.value_type if pa.types.is_dictionary(f.type) else f.type,
                                )
                                for f in table.schema
                            ]
                        )
                    )
                    pacsv.write_csv(plain, fh, pacsv.WriteOptions(include_header=done == 0))
                else:
                    import json

                    for r in table.to_pylist():
                        r["timestamp"] = r["timestamp"].isoformat()
                        fh.write((json.dumps(r) + "\n").encode())
                done += n
        finally:  # the Parquet footer, before the file closes (on an error the file goes)
            if writer is not None:
                writer.close()
    return path


def parameters() -> list[dict[str, Any]]:
    """Every parameter with its value and source (for docs and ``usage synth --params``)."""
    rows = [{"name": k, "value": v.value, "source": v.source} for k, v in PARAMS.items()]
    rows.append({"name": "categories", "value": CATEGORIES, "source": SEED_004})
    rows.append({"name": "models", "value": [m[0] for m in MODELS], "source": MODEL_SOURCE})
    return rows
