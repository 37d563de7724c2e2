"""Readers of measured serving results, one per format, into :class:`Measurement` records.

Every reader returns ``(measurements, issues)``: a record it cannot map becomes an
:class:`~tokenfab.calibrate.records.Issue` naming ``file:line`` and the reason, so the caller
can count and show it; nothing is dropped silently. All readers go through one validator,
:func:`build`, whose field names are the generic CSV's columns (``docs/calibration.md``).

Formats and where their field names come from
---------------------------------------------
``vllm``
    ``vllm bench serve`` / ``benchmarks/benchmark_serving.py --save-result`` JSON: ``backend``,
    ``model_id``, ``max_concurrency``, ``completed``, ``total_input_tokens``,
    ``total_output_tokens``, ``output_throughput``, ``mean_ttft_ms``, ``mean_tpot_ms``; every
    ``--metadata KEY=VALUE`` pair lands at the top level (vllm-project/vllm@0049e29c41fd
    benchmarks/benchmark_serving.py, ``main`` and ``benchmark``).
``sglang``
    ``python -m sglang.bench_serving --output-file``: one JSON object a line, with ``backend``,
    ``max_concurrency``, ``random_input_len``, ``random_output_len``, ``completed``,
    ``total_input_tokens``, ``total_output_tokens``, ``output_throughput``, ``mean_ttft_ms``,
    ``mean_tpot_ms`` (sgl-project/sglang@50a613687fe1 python/sglang/bench_serving.py).
``genai-perf``
    ``profile_export_genai_perf.json`` (genai-perf) and ``profile_export_aiperf.json`` (aiperf):
    each metric an object with ``unit`` and ``avg`` -- ``time_to_first_token``,
    ``inter_token_latency``, ``output_token_throughput``, ``input_sequence_length``,
    ``output_sequence_length`` -- and the run's arguments under ``input_config``
    (genai-perf: the argparse namespace, ``model`` and ``concurrency``; aiperf:
    ``endpoint.model_names`` and ``loadgen.concurrency``) (triton-inference-server/perf_analyzer@
    09628cd6d6e3 genai-perf/genai_perf/export_data/json_exporter.py; ai-dynamo aiperf
    docs/tutorials/working-with-profile-exports.md, mirror nvda-ci/aiperf@8e6a033d162b).
``aic``
    The AIConfigurator silicon CSV layout (ai-dynamo/aiconfigurator, Apache-2.0): ``model_path``,
    ``system``, ``backend``, ``backend_version``, ``gemm_quant_mode``, ``mode``, ``isl``, ``osl``,
    ``batch_size``, ``tp_size`` ... ``moe_ep_size``, the ``prefill_*`` / ``decode_*`` pools,
    ``silicon_ttft_ms``, ``silicon_tpot_ms``; the client concurrency is
    ``silicon_concurrency=N`` in ``silicon_data_source``.
``measured``
    tokenfab's ``measured_throughput.csv`` layout (``shared/calibration/README.md``).
``generic``
    A CSV whose header uses :data:`GENERIC_COLUMNS` (documented in ``docs/calibration.md``).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tokenfab.calibrate.records import (
    MODES,
    Issue,
    Layout,
    Measurement,
    MeasurementFileError,
    accelerator_id,
    engine_class,
    engine_of,
    era_of,
    fp8_block_of,
    model_id,
    precision_of,
)
from tokenfab.catalog import Catalog
from tokenfab.errors import FileInputError
from tokenfab.fileio import read_text
from tokenfab.perf.precision import KV_PRECISIONS, PRECISIONS

GENERIC_COLUMNS: dict[str, str] = {
    "model": "model: catalog id or Hugging Face name (required)",
    "accelerator": "accelerator: catalog id or vendor name (required)",
    "accelerators": "accelerators in the whole run (default: the layout's)",
    "engine": "serving engine: trtllm, sglang, vllm (or a name holding one, such as "
    "TensorRT-LLM v1.0), or other: one tokenfab does not model, fitted as vLLM's class "
    "(required)",
    "engine_version": "engine version as reported; its major.minor is the era (blank: unknown)",
    "precision": f"weight format, one of {', '.join(PRECISIONS)} or a name such as nvfp4; "
    'fp8_block or "FP8 (per-tensor)" state how FP8 weights are scaled, and where neither is '
    "said the model's published FP8 checkpoint decides (DeepSeek-V3/R1 and Qwen3: 128 × 128 "
    "blocks); a text naming both scalings, or an unknown word glued to fp8 (fp8_blok), is "
    "refused (required)",
    "kv_precision": f"KV-cache format, one of {', '.join(KV_PRECISIONS)} (blank: the default)",
    "isl": "mean input tokens a request (required)",
    "osl": "mean output tokens a request (required)",
    "load": "concurrency (closed-loop clients), batch (fixed engine batch), static (static "
    "batching) or offline (all requests queued at once)",
    "load_size": "the concurrency or batch; offline: the request count or the engine's cap",
    "tp": "tensor parallel (default 1)",
    "pp": "pipeline parallel (default 1)",
    "attention_dp": "attention data-parallel ranks (default 1)",
    "moe_tp": "MoE tensor parallel (default 1)",
    "moe_ep": "MoE expert parallel (default 1)",
    "workers": "instances of this layout (default 1; disagg: decode workers)",
    "mode": "agg (one pool, default) or disagg (separate prefill and decode pools)",
    "prefill_tp": "disagg: prefill pool tensor parallel",
    "prefill_pp": "disagg: prefill pool pipeline parallel",
    "prefill_attention_dp": "disagg: prefill pool attention data-parallel ranks",
    "prefill_moe_tp": "disagg: prefill pool MoE tensor parallel",
    "prefill_moe_ep": "disagg: prefill pool MoE expert parallel",
    "prefill_workers": "disagg: prefill instances",
    "ttft_s": "measured mean time to first token [s]",
    "tpot_s": "measured mean time per output token after the first [s]",
    "output_tok_s": "measured output tokens per second over all accelerators [token/s]",
    "notes": "free text",
}
"""Columns of the generic CSV (and the keys every importer hands to :func:`build`)."""

LOADS = ("concurrency", "batch", "static", "offline")

Result = tuple[list[Measurement], list[Issue]]


class _BadFieldError(Exception):
    """A field of one record is invalid (caught per record, reported as an Issue)."""


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _number(raw: Mapping[str, Any], key: str, *, positive: bool = True) -> float | None:
    v = raw.get(key)
    if _blank(v):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _BadFieldError(f"{key}: not a number (got {v!r})") from None
    if not math.isfinite(x) or (positive and x <= 0) or x < 0:
        raise _BadFieldError(
            f"{key}: must be a {'positive' if positive else 'non-negative'} number (got {v!r})"
        )
    return x


def _count(raw: Mapping[str, Any], key: str, default: int = 1) -> int:
    """A layout degree; 0 and blank mean 'not used' (AIConfigurator writes 0), i.e. 1."""
    v = raw.get(key)
    if _blank(v):
        return default
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _BadFieldError(f"{key}: not a whole number (got {v!r})") from None
    if not math.isfinite(x) or x < 0 or x != int(x):  # int() of inf or nan raised
        raise _BadFieldError(f"{key}: must be a whole number >= 1 (got {v!r})")
    return max(int(x), 1)


def _text(raw: Mapping[str, Any], key: str) -> str:
    v = raw.get(key)
    return "" if _blank(v) else str(v).strip()


def build(
    raw: Mapping[str, Any],
    source: str,
    catalog: Catalog,
    defaults: Mapping[str, Any] | None = None,
) -> Measurement | Issue:
    """Validate one record given as generic-CSV fields into a :class:`Measurement`.

    ``defaults`` fill fields the record leaves blank (the CLI's ``--accelerator``, ``--tp`` ...);
    a field the record states wins. The first invalid field makes the whole record an
    :class:`Issue`.
    """
    merged = dict(defaults or {})
    merged.update({k: v for k, v in raw.items() if not _blank(v)})
    try:
        return _build(merged, source, catalog)
    except _BadFieldError as exc:
        return Issue(source, str(exc))


def _fp8_problem(text: str) -> str | None:
    """What is wrong with an FP8 precision's scaling words (:func:`fp8_block_of`), or None."""
    try:
        fp8_block_of(text)
    except ValueError as exc:
        return str(exc).split(": ", 1)[1].removeprefix(f"{text!r} ")
    return None


def check_defaults(defaults: Mapping[str, Any], catalog: Catalog) -> None:
    """Refuse an option (``--model``, ``--accelerator``, ``--precision``, ``--kv-precision``)
    whose value no record could use, before any file is read.

    A value is only a fallback for records that leave the field blank, so a misspelt one
    (``--accelerator foo``) was never looked at when every record names its own, and the run
    went on as if it were right. Raises :class:`MeasurementFileError` in the words a record's
    bad field gets, naming the option.
    """
    problems = {
        "model": lambda v: (
            None
            if model_id(v, catalog)
            else "is not in the model catalog (list them with `tokenfab catalog models`)"
        ),
        "accelerator": lambda v: (
            None
            if accelerator_id(v, catalog)
            else "is not in the accelerator catalog (list them with `tokenfab catalog "
            "accelerators`)"
        ),
        "precision": lambda v: (
            f"is not a known format; allowed: {', '.join(PRECISIONS)}"
            if precision_of(v) is None
            else _fp8_problem(v)
            if precision_of(v) == "fp8"
            else None
        ),
        "kv_precision": lambda v: (
            None
            if precision_of(v) in KV_PRECISIONS
            else f"is not a known KV-cache format; allowed: {', '.join(KV_PRECISIONS)}"
        ),
    }
    for key, problem in problems.items():
        value = defaults.get(key)
        if value is None:
            continue
        why = problem(str(value))
        if why:
            option = "--" + key.replace("_", "-")
            raise MeasurementFileError(f"{key}: {str(value)!r} {why} (option {option})")


def _build(raw: Mapping[str, Any], source: str, catalog: Catalog) -> Measurement:
    name = _text(raw, "model")
    if not name:
        raise _BadFieldError("model: not stated (give --model or a model column)")
    mid = model_id(name, catalog)
    if mid is None:
        raise _BadFieldError(f"model: {name!r} is not in the model catalog")
    acc_name = _text(raw, "accelerator")
    if not acc_name:
        raise _BadFieldError(
            "accelerator: not stated (give --accelerator or an accelerator column)"
        )
    aid = accelerator_id(acc_name, catalog)
    if aid is None:
        raise _BadFieldError(f"accelerator: {acc_name!r} is not in the accelerator catalog")
    engine_name = _text(raw, "engine")
    if not engine_name:
        raise _BadFieldError("engine: not stated (give --engine or an engine column)")
    try:
        engine = engine_class(engine_name)
    except ValueError as exc:
        raise _BadFieldError(str(exc)) from None
    prec_text = _text(raw, "precision")
    precision = precision_of(prec_text)
    if precision is None:
        raise _BadFieldError(
            f"precision: {prec_text!r} is not a known format; allowed: {', '.join(PRECISIONS)}"
            if prec_text
            else "precision: not stated (give --precision or a precision column)"
        )
    try:
        fp8_block = fp8_block_of(prec_text) if precision == "fp8" else None
    except ValueError as exc:
        raise _BadFieldError(str(exc)) from None
    kv_text = _text(raw, "kv_precision")
    kv = precision_of(kv_text) if kv_text else None
    if kv_text and kv not in KV_PRECISIONS:
        raise _BadFieldError(f"kv_precision: {kv_text!r}; allowed: {', '.join(KV_PRECISIONS)}")
    isl, osl = _number(raw, "isl"), _number(raw, "osl")
    if isl is None or osl is None:
        raise _BadFieldError(f"{'isl' if isl is None else 'osl'}: mean tokens a request not stated")
    load = _text(raw, "load").lower() or "concurrency"
    if load not in LOADS:
        raise _BadFieldError(f"load: {load!r}; allowed: {', '.join(LOADS)}")
    load_size = _number(raw, "load_size")
    if load_size is None and load != "offline":
        raise _BadFieldError(f"load_size: the {load} is not stated")
    mode = _text(raw, "mode").lower() or "agg"
    if mode not in MODES:
        raise _BadFieldError(f"mode: {mode!r}; allowed: {', '.join(MODES)}")
    lay = Layout(
        *(_count(raw, k) for k in ("tp", "pp", "attention_dp", "moe_tp", "moe_ep", "workers"))
    )
    pre = None
    if mode == "disagg":
        keys = ("tp", "pp", "attention_dp", "moe_tp", "moe_ep", "workers")
        if all(_blank(raw.get(f"prefill_{k}")) for k in keys):
            raise _BadFieldError("prefill_tp: a disaggregated run needs its prefill pool's layout")
        pre = Layout(*(_count(raw, f"prefill_{k}") for k in keys))
    total = lay.accelerators + (pre.accelerators if pre else 0)
    accelerators = _number(raw, "accelerators")
    if accelerators is not None and accelerators != int(accelerators):
        raise _BadFieldError(
            f"accelerators: must be a whole number (got {raw.get('accelerators')!r})"
        )
    n = int(accelerators) if accelerators is not None else total
    if n % lay.accelerators_per_instance and mode == "agg":
        raise _BadFieldError(
            f"accelerators: {n} is not a multiple of the layout's "
            f"{lay.accelerators_per_instance} (tp x pp x attention-dp / moe-tp x moe-ep)"
        )
    ttft, tpot, thr = _number(raw, "ttft_s"), _number(raw, "tpot_s"), _number(raw, "output_tok_s")
    if ttft is None and tpot is None and thr is None:
        raise _BadFieldError("ttft_s: no measured value (ttft_s, tpot_s or output_tok_s)")
    version = _text(raw, "engine_version")
    return Measurement(
        source=source,
        model=mid,
        model_name=name,
        accelerator=aid,
        accelerators=n,
        engine=engine,
        engine_version=version,
        era=era_of(version),
        precision=precision,
        kv_precision=kv,
        isl=isl,
        osl=osl,
        concurrency=load_size if load == "concurrency" else None,
        batch=load_size if load in ("batch", "static") else None,
        offline=load == "offline",
        layout=lay,
        mode=mode,
        prefill_layout=pre,
        ttft_s=ttft,
        tpot_s=tpot,
        output_tok_s=thr,
        notes=_text(raw, "notes"),
        extra={"load": load, "load_size": "" if load_size is None else f"{load_size:g}"},
        fp8_block=fp8_block,
    )


def _collect(records: Iterable[tuple[str, Mapping[str, Any] | Issue]], catalog, defaults) -> Result:
    kept: list[Measurement] = []
    issues: list[Issue] = []
    for source, raw in records:
        out = raw if isinstance(raw, Issue) else build(raw, source, catalog, defaults)
        (issues if isinstance(out, Issue) else kept).append(out)  # type: ignore[arg-type]
    return kept, issues


def _csv_rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise MeasurementFileError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row


# ------------------------------------------------------------------------------------------
# generic CSV


def read_generic(path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None) -> Result:
    """Read a generic CSV (:data:`GENERIC_COLUMNS`); an unknown column stops the read."""
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    unknown = [c for c in header if c not in GENERIC_COLUMNS]
    if unknown:
        raise MeasurementFileError(
            f"{path}:1: unknown column {unknown[0]!r}; allowed: {', '.join(GENERIC_COLUMNS)}"
        )

    def records():
        for line, row in _csv_rows(path):
            if None in row:
                yield f"{path}:{line}", Issue(f"{path}:{line}", "more cells than the header")
                continue
            yield f"{path}:{line}", row

    return _collect(records(), catalog, defaults)


# ------------------------------------------------------------------------------------------
# AIConfigurator silicon CSV


def _aic_precision(row: Mapping[str, str]) -> str:
    # gemm_quant_mode names the format the dense GEMMs run in; blank means unquantised
    # (the checkpoint's 16-bit weights), which AIConfigurator calls float16/bfloat16.
    quant = row.get("gemm_quant_mode") or row.get("precision") or "bf16"
    if "gpt-oss" in (row.get("model_path") or "").lower() and "fp4" in quant.lower():
        # gpt-oss ships MXFP4 expert weights (OpenAI's checkpoint); the sample labels them FP4
        return "mxfp4"
    return quant


def read_aic(path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None) -> Result:
    """Read the AIConfigurator silicon CSV layout (Apache-2.0, ai-dynamo/aiconfigurator)."""

    def records():
        for line, row in _csv_rows(path):
            src = f"{path}:{line}"
            conc = re.search(r"silicon_concurrency=(\d+)", row.get("silicon_data_source") or "")
            mode = (row.get("mode") or "").strip()
            raw: dict[str, Any] = {
                "model": row.get("model_path"),
                "accelerator": row.get("system"),
                "engine": row.get("backend"),
                "engine_version": row.get("backend_version"),
                "precision": _aic_precision(row),
                "isl": row.get("isl"),
                "osl": row.get("osl"),
                "load": "concurrency",
                "mode": mode,
                "ttft_s": _ms(row.get("silicon_ttft_ms")),
                "tpot_s": _ms(row.get("silicon_tpot_ms")),
                "notes": row.get("id") or "",
            }
            pool = "decode_" if mode == "disagg" else ""
            for k in ("tp", "pp", "attention_dp", "moe_tp", "moe_ep"):
                raw[k] = row.get(f"{pool}{k}_size")
            if mode == "disagg":
                raw["workers"] = row.get("decode_num_workers")
                for k in ("tp", "pp", "attention_dp", "moe_tp", "moe_ep"):
                    raw[f"prefill_{k}"] = row.get(f"prefill_{k}_size")
                raw["prefill_workers"] = row.get("prefill_num_workers")
            if conc:
                raw["load_size"] = conc.group(1)
            elif mode == "agg" and not _blank(row.get("batch_size")):
                # per attention-DP rank, as AIConfigurator states the batch
                try:
                    adp = max(int(float(row.get("attention_dp_size") or 1)), 1)
                    raw["load_size"] = float(row["batch_size"]) * adp
                except (ValueError, OverflowError):  # build() names the field
                    raw["load_size"] = row.get("batch_size")
            yield src, raw

    return _collect(records(), catalog, defaults)


def _ms(v: Any) -> Any:
    if _blank(v):
        return None
    try:
        return float(v) / 1e3
    except (TypeError, ValueError):
        return v  # build() reports it as not a number


# ------------------------------------------------------------------------------------------
# measured_throughput.csv


def _measured_layout(tp_text: str, n: int) -> dict[str, Any]:
    t = tp_text.strip()
    if "mtp" in t.lower() or "speculative" in t.lower():
        raise _BadFieldError(
            "tensor_parallel: speculative decoding (MTP) with an unpublished acceptance rate"
        )
    m = re.match(r"^DEP(\d+)", t)
    if m or "attention-DP" in t:
        return {"tp": 1, "attention_dp": n, "moe_ep": n}
    if t.isdigit():
        return {"tp": int(t)}
    raise _BadFieldError(f"tensor_parallel: parallel layout {tp_text!r} not stated")


def _measured_load(how: str) -> tuple[str, Any]:
    low = how.lower()
    num = re.search(r"(\d+)", low)
    if low.startswith("static batch"):
        return "static", num.group(1) if num else None
    if low.startswith("batch"):
        return "batch", num.group(1) if num else None
    if low.startswith("concurrency"):
        return "concurrency", num.group(1) if num else None
    seqs = re.search(r"max_num_seqs=(\d+)", low)
    reqs = re.search(r"(\d+) prompts|num_requests=(\d+)", low)
    cap = seqs.group(1) if seqs else ((reqs.group(1) or reqs.group(2)) if reqs else None)
    return "offline", cap


def read_measured(
    path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None
) -> Result:
    """Read tokenfab's ``measured_throughput.csv`` layout (see shared/calibration/README.md)."""

    def records():
        for line, row in _csv_rows(path):
            src = f"{path}:{line}"
            try:
                n = int(row["accelerator_count"])
                lay = _measured_layout(row["tensor_parallel"], n)
            except _BadFieldError as exc:
                yield src, Issue(src, str(exc))
                continue
            except (KeyError, ValueError):
                yield (
                    src,
                    Issue(
                        src,
                        f"accelerator_count: not a whole number ({row.get('accelerator_count')!r})",
                    ),
                )
                continue
            load, size = _measured_load(row["batch_or_concurrency"])
            software = row.get("software") or ""
            # "post-v1.0" states no version: its era is unknown
            version = re.search(r"(?<!post-)\bv?(\d+\.\d+(?:\.\d+)?)", software)
            nim = "nim" in software.lower()
            total, per_gpu = (
                row.get("throughput_output_tok_s_total"),
                row.get("throughput_output_tok_s_per_gpu"),
            )
            thr = (
                total
                if not _blank(total)
                else (float(per_gpu) * n if not _blank(per_gpu) else None)
            )
            prec = row["precision"]
            kv = None
            if "FP16 KV" in row["model"]:
                kv = "bf16"
            elif "FP8 KV" in prec or "FP8-KV" in prec:
                kv = "fp8"
            if "FP8" in prec and "gpt-oss" in row["model"].lower():
                # gpt-oss ships MXFP4 weights; on Hopper they run weight-only with a 16-bit cache
                prec, kv = "mxfp4", "bf16"
            raw = {
                "model": row["model"],
                "accelerator": row["accelerator"],
                "accelerators": n,
                "engine": "trtllm" if nim else software,
                "engine_version": "" if nim or not version else version.group(1),
                "precision": prec,
                "kv_precision": kv,
                "isl": row["input_tokens"],
                "osl": row["output_tokens"],
                "load": load,
                "load_size": size if load != "concurrency" or size != "1" else 1,
                "ttft_s": row.get("ttft_s"),
                "tpot_s": row.get("tpot_s"),
                "output_tok_s": thr,
                "notes": ("NIM (TensorRT-LLM engine) " if nim else "") + row.get("source", ""),
                **lay,
            }
            yield src, raw

    return _collect(records(), catalog, defaults)


# ------------------------------------------------------------------------------------------
# JSON formats


def _json_records(path: Path) -> list[tuple[str, Any]]:
    """A JSON file (one object, or a list of them) or JSON lines, with each record's source."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MeasurementFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        out: list[tuple[str, Any]] = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append((f"{path}:{i}", json.loads(line)))
            except json.JSONDecodeError as exc:
                out.append((f"{path}:{i}", Issue(f"{path}:{i}", f"not JSON ({exc.msg})")))
        return out
    if isinstance(data, list):
        return [(f"{path}:record {i}", d) for i, d in enumerate(data, start=1)]
    return [(f"{path}:1", data)]


def _mean_tokens(total: Any, count: Any) -> float | None:
    try:
        return float(total) / float(count)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _bench_serving(rec: Mapping[str, Any]) -> dict[str, Any]:
    """vLLM / SGLang ``bench_serving`` result keys onto generic fields."""
    completed = rec.get("completed")
    isl = rec.get("isl") or _mean_tokens(rec.get("total_input_tokens"), completed)
    osl = rec.get("osl") or _mean_tokens(rec.get("total_output_tokens"), completed)
    conc = rec.get("max_concurrency")
    rate = rec.get("request_rate")
    raw: dict[str, Any] = {
        k: rec.get(k)
        for k in GENERIC_COLUMNS
        if not _blank(rec.get(k)) and not isinstance(rec.get(k), (list, dict))
    }  # --metadata KEY=VALUE pairs (accelerator=..., tp=...) land at the top level
    raw.setdefault("model", rec.get("model_id") or rec.get("model"))
    backend = str(rec.get("backend") or "")
    if engine_of(backend) != "other":  # "openai", "openai-chat": the API, not the server
        raw.setdefault("engine", backend)
    raw.update(
        {
            "isl": isl,
            "osl": osl,
            "ttft_s": _ms(rec.get("mean_ttft_ms")),
            "tpot_s": _ms(rec.get("mean_tpot_ms")),
            "output_tok_s": rec.get("output_throughput"),
        }
    )
    if not _blank(conc):
        raw.setdefault("load", "concurrency")
        raw.setdefault("load_size", conc)
    elif rate in (None, "inf", float("inf")):
        raw.setdefault("load", "offline")
        raw.setdefault("load_size", rec.get("num_prompts") or completed)
    else:
        raw["_open_loop"] = rate
    return raw


def _read_bench_serving(path, catalog, defaults) -> Result:
    def records():
        for src, rec in _json_records(path):
            if isinstance(rec, Issue):
                yield src, rec
            elif not isinstance(rec, dict) or "output_throughput" not in rec:
                yield src, Issue(src, "output_throughput: missing (not a bench_serving result)")
            else:
                raw = _bench_serving(rec)
                if "_open_loop" in raw:
                    yield (
                        src,
                        Issue(
                            src,
                            f"request_rate: {raw['_open_loop']} req/s open-loop load without "
                            "max_concurrency is not modelled; rerun with --max-concurrency",
                        ),
                    )
                else:
                    yield src, raw

    return _collect(records(), catalog, defaults)


def read_vllm(path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None) -> Result:
    """Read ``vllm bench serve --save-result`` JSON (one object, or a list/JSON lines)."""
    return _read_bench_serving(path, catalog, defaults)


def read_sglang(path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None) -> Result:
    """Read ``sglang.bench_serving --output-file`` JSON lines (one result a line)."""
    return _read_bench_serving(path, catalog, defaults)


def _avg(rec: Mapping[str, Any], key: str) -> Any:
    v = rec.get(key)
    return v.get("avg") if isinstance(v, dict) else None


def _dig(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def read_genai_perf(
    path: Path, catalog: Catalog, defaults: Mapping[str, Any] | None = None
) -> Result:
    """Read genai-perf ``profile_export_genai_perf.json`` or aiperf ``profile_export_aiperf.json``."""

    def records():
        for src, rec in _json_records(path):
            if isinstance(rec, Issue):
                yield src, rec
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get("time_to_first_token"), dict):
                yield (
                    src,
                    Issue(src, "time_to_first_token: missing (not a genai-perf/aiperf export)"),
                )
                continue
            cfg = rec.get("input_config") or {}
            models = (
                cfg.get("model")
                or cfg.get("model_names")
                or _dig(cfg, "endpoint", "model_names")
                or [
                    m.get("name")
                    for m in (_dig(cfg, "models", "items") or [])
                    if isinstance(m, dict)
                ]
            )
            conc = (
                cfg.get("concurrency")
                or _dig(cfg, "loadgen", "concurrency")
                or _dig(cfg, "perf_analyzer", "stimulus", "concurrency")
            )
            itl_ms = _avg(rec, "inter_token_latency")
            raw = {
                "model": models[0] if isinstance(models, list) and models else models,
                "isl": _avg(rec, "input_sequence_length"),
                "osl": _avg(rec, "output_sequence_length"),
                "load": "concurrency",
                "load_size": conc,
                "ttft_s": _ms(_avg(rec, "time_to_first_token")),
                "tpot_s": _ms(itl_ms),
                "output_tok_s": _avg(rec, "output_token_throughput"),
            }
            yield src, raw

    return _collect(records(), catalog, defaults)


READERS: dict[str, Callable[[Path, Catalog, Mapping[str, Any] | None], Result]] = {
    "vllm": read_vllm,
    "sglang": read_sglang,
    "genai-perf": read_genai_perf,
    "aic": read_aic,
    "measured": read_measured,
    "generic": read_generic,
}
"""Reader of each format name (``tokenfab calibrate --format``)."""


def detect_format(path: Path) -> str:
    """Format of a file from its header (CSV) or its first record's keys (JSON)."""
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                header = set(next(csv.reader(fh), []))
        except OSError as exc:
            raise MeasurementFileError(f"{path}: cannot read ({exc.strerror})") from None
        if {"silicon_ttft_ms", "model_path", "system"} <= header:
            return "aic"
        if {"batch_or_concurrency", "throughput_output_tok_s_total"} <= header:
            return "measured"
        return "generic"
    records = _json_records(path)
    first = next((r for _, r in records if isinstance(r, dict)), None)
    if first is None:
        raise MeasurementFileError(f"{path}: no JSON object found; give --format")
    if isinstance(first.get("time_to_first_token"), dict):
        return "genai-perf"
    if "output_throughput" in first:
        backend = str(first.get("backend", "")).lower()
        return "sglang" if "sglang" in backend or path.suffix.lower() == ".jsonl" else "vllm"
    raise MeasurementFileError(
        f"{path}: format not recognised (keys: {', '.join(list(first)[:6])}); "
        f"give --format, one of {', '.join(READERS)}"
    )


MEASUREMENT_MAX_BYTES = 100_000_000
"""A benchmark run's result file is kB to a few MB; 100 MB bounds a mistaken read."""


def read_files(
    paths: Iterable[str | Path],
    catalog: Catalog,
    fmt: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Result:
    """Read measurement files (format detected per file unless ``fmt`` names one)."""
    if fmt is not None and fmt not in READERS:
        raise MeasurementFileError(f"format: unknown {fmt!r}; allowed: {', '.join(READERS)}")
    kept: list[Measurement] = []
    issues: list[Issue] = []
    for p in paths:
        path = Path(p)
        try:  # a regular UTF-8 file under the cap: the readers below then read it bounded
            read_text(path, what="measurement file", max_bytes=MEASUREMENT_MAX_BYTES)
        except FileInputError as exc:
            raise MeasurementFileError(str(exc)) from None
        reader = READERS[fmt or detect_format(path)]
        k, i = reader(path, catalog, defaults)
        kept += k
        issues += i
    return kept, issues
