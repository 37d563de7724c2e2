"""Peers on the same rows, side by side (`make bench`): tokenfab held out, AIConfigurator,
llm-analysis.

    python bench/bench_peers.py            # print the tables (and out/bench/peer_compare.md)
    python bench/bench_peers.py --write    # ... and store them in bench/results/peer_compare.md
    python bench/bench_peers.py --limit 50 # a quick look: the first 50 AIC rows of each kind

Rows: the AIConfigurator silicon sample (shared/calibration/aic_silicon_sample.csv, Apache-2.0,
ai-dynamo/aiconfigurator) and the published throughput rows in bench/data/. Every tool predicts
the same rows; each line of the table keeps only the rows every tool named in it expresses.

* tokenfab: held out by configuration, as bench/bench_accuracy.py computes it (the same files,
  factor groups, bounds and 5 grouped folds of tokenfab.calibrate.fit.cross_validate): no row
  is predicted by factors fitted on its configuration. Read at run time, so a refit or a model
  change shows here without editing this file.
* AIConfigurator 0.12.0 from PyPI (bench/.aic-venv, offline: the wheel ships its per-kernel
  performance database and model configs), ``cli_estimate`` per row in a subprocess
  (bench/peer_aic.py), its default SILICON database, HYBRID (its empirical fallback) where the
  silicon data for a kernel is missing. Its database was measured on the same NVIDIA systems
  (H100, H200, B200, B300, GB200, GB300) as the silicon sample's rows, by the same project, so
  on these rows it is close to in-sample; the database holds one engine version per system
  (the newest), not the rows' versions.
* llm-analysis 0.2.2 (bench/.peer-venv, bench/peer_llm_analysis.py) with its default
  efficiencies, where its inputs express the row (bench/peer_rows.py says why not).

A missing peer environment is created on the first run (pip, from the package index); if that
fails the peer's columns say "not run" with the reason and the script still exits 0.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_accuracy  # noqa: E402  (bench/ is not a package)
import frozen_set  # noqa: E402
import peer_compare  # noqa: E402
import peer_rows  # noqa: E402
from tokenfab.calibrate import adapter, fit, groups  # noqa: E402
from tokenfab.calibrate.importers import read_files  # noqa: E402
from tokenfab.calibrate.records import Layout, Measurement, engine_of  # noqa: E402
from tokenfab.catalog import Catalog, default_catalog  # noqa: E402

RESULT = HERE / "results" / "peer_compare.md"
SCRATCH = HERE.parent / "out" / "bench" / "peer_compare.md"
AIC_VENV = HERE / ".aic-venv"
AIC_PACKAGE = "aiconfigurator==0.12.0"
AIC_HELPER = HERE / "peer_aic.py"
AIC_CACHE = HERE / ".cache" / "aic_estimates.json"
METRICS = ("tpot_s", "ttft_s", "output_tok_s")
METRIC_LABELS = {"tpot_s": "TPOT", "ttft_s": "TTFT", "output_tok_s": "output tok/s"}
TOOL_LABELS = {"aic": "AIConfigurator", "la": "llm-analysis"}


# --------------------------------------------------------------------------------------------
# tokenfab, held out by configuration
# --------------------------------------------------------------------------------------------


@dataclass
class Targets:
    """Measured values and tokenfab's held-out predictions, by (record, metric)."""

    runs: list[Any]
    files: list[Path]
    measured: dict[tuple[int, str], float]
    held_out: dict[tuple[int, str], float]
    seconds_per_row: float  # tokenfab's vectorised prediction, per target
    seconds_scalar: float  # one target a call
    offline_batch: dict[int, float]  # offline max-load runs: the batch tokenfab finds fits
    skipped: Counter = field(default_factory=Counter)


def tokenfab_held_out(cat: Catalog) -> Targets:
    """bench_accuracy's held-out-by-configuration predictions of every calibration target."""
    files, _ = bench_accuracy.calibration_files()
    runs, _ = read_files(files, cat)
    prep = adapter.prepare(runs, cat)
    ms = [runs[r] for r in prep.record]
    # the groups estimates use and bench_accuracy reports: a compute efficiency per matrix rate
    keys = [fit.factor_key_family_software_rate(m, cat) for m in ms]
    cfg = groups.group_ids([groups.config_key(m) for m in ms])
    held = fit.cross_validate(prep, keys, cfg, k=5, measured=fit.measured_bounds(cat))
    # speed: the stored factors through the same vectorised path, all targets then one a call
    factors = adapter.stored_factors(prep, cat)
    t0 = time.perf_counter()
    adapter.predict(prep, factors)
    per_row = (time.perf_counter() - t0) / prep.size
    one = np.linspace(0, prep.size - 1, 50).astype(int)
    t0 = time.perf_counter()
    for i in one:
        adapter.predict(prep.subset(np.array([i])), {k: v[i] for k, v in factors.items()})
    scalar = (time.perf_counter() - t0) / one.size
    key = list(zip(prep.record.tolist(), prep.metric.tolist(), strict=True))
    offline = np.flatnonzero(np.array([m.offline for m in ms]))
    sizes = peer_compare.batches(prep.subset(offline).arrays) if offline.size else []
    return Targets(
        runs,
        files,
        dict(zip(key, prep.measured.tolist(), strict=True)),
        dict(zip(key, held.tolist(), strict=True)),
        per_row,
        scalar,
        {int(prep.record[j]): float(b) for j, b in zip(offline, sizes, strict=True)},
        Counter(r for _, r in prep.skipped),
    )


def add_validation(tg: Targets, cat: Catalog) -> list[int]:
    """The frozen validation set (report only) appended to ``tg``: each row tokenfab predicts
    (stored factors: ``bench/frozen_set.py``, never fitted to it) becomes a record at
    tokenfab's operating point (its layout and batch), which the peers are given too."""
    shared = frozen_set.shared_dir(HERE)
    if shared is None:
        return []
    path = shared / frozen_set.FILE
    with path.open(newline="", encoding="utf-8") as fh:
        recs = {i + 2: r for i, r in enumerate(csv.DictReader(fh))}  # line numbers
    added = []
    for row in frozen_set.predict_rows(path, cat):
        op, rec = row.point, recs.get(row.line)
        if op is None or rec is None:
            tg.skipped[f"validation: {row.why_not}"] += 1
            continue
        i = len(tg.runs)
        tg.runs.append(
            Measurement(
                source=f"{path}:{row.line}",
                model=row.model,
                model_name=rec["model"],
                accelerator=row.accelerator,
                accelerators=int(rec["accelerators_per_system"]),
                engine=engine_of(rec["software"]),
                engine_version="",
                era="unknown",
                precision=op.setup.precision,
                kv_precision=op.setup.kv_precision,
                isl=float(rec["mean_input_tokens"]),
                osl=float(rec["mean_output_tokens"]),
                concurrency=None,
                batch=None,
                offline=True,
                layout=Layout(
                    tp=op.tensor_parallel,
                    pp=op.pipeline_parallel,
                    attention_dp=op.attention_data_parallel,
                    moe_tp=op.moe_tensor_parallel,
                    moe_ep=op.expert_parallel,
                ),
                output_tok_s=row.measured,
                notes=row.label,
            )
        )
        tg.measured[(i, "output_tok_s")] = row.measured
        tg.held_out[(i, "output_tok_s")] = float(row.predicted)
        tg.offline_batch[i] = float(op.batch_size)
        added.append(i)
    return added


# --------------------------------------------------------------------------------------------
# The peers' environments
# --------------------------------------------------------------------------------------------


def venv_python(venv: Path, package: str, dist: str) -> tuple[Path | None, str]:
    """The venv's python with ``package`` installed (creating it if needed), or the reason."""
    py = venv / "bin" / "python"
    want = package.split("==")[1]
    probe = f"from importlib.metadata import version; print(version({dist!r}))"
    if py.exists():
        got = subprocess.run([py, "-c", probe], capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == want:
            return py, ""
    print(f"bench_peers: installing {package} into {venv.relative_to(HERE.parent)} (one time)")
    for cmd in ([sys.executable, "-m", "venv", venv], [py, "-m", "pip", "install", "-q", package]):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
        except (OSError, subprocess.TimeoutExpired) as exc:
            res = subprocess.CompletedProcess(cmd, 1, "", str(exc))
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"could not install {package} ({tail[0][:160]})"
    return py, ""


def aic_estimates(py: Path, requests: list[dict[str, Any]]) -> tuple[list[dict], str]:
    """AIConfigurator's estimate of each request, from bench/.cache where computed before (by
    the same AIConfigurator version and the same bench/peer_aic.py)."""
    version = subprocess.run(
        [py, "-c", "from importlib.metadata import version; print(version('aiconfigurator'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()

    helper = hashlib.sha1(AIC_HELPER.read_bytes()).hexdigest()  # a changed helper: recompute

    def key(r: dict[str, Any]) -> str:
        blob = json.dumps([version, helper, r], sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()

    cache: dict[str, dict] = {}
    if AIC_CACHE.is_file():
        cache = json.loads(AIC_CACHE.read_text(encoding="utf-8"))
    todo = sorted(
        {key(r): r for r in requests if key(r) not in cache}.items(),
        key=lambda kv: (kv[1]["system_name"], kv[1]["backend_name"], kv[1]["model_path"]),
    )
    if todo:
        print(f"bench_peers: AIConfigurator on {len(todo)} rows not cached ...", file=sys.stderr)
        res = subprocess.run(
            [py, AIC_HELPER],
            input=json.dumps({"requests": [r for _, r in todo]}),
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if res.returncode != 0:
            raise RuntimeError(f"{AIC_HELPER.name}: {res.stderr.strip()[-500:]}")
        out = json.loads(res.stdout)["results"]
        cache.update({k: o for (k, _), o in zip(todo, out, strict=True)})
        AIC_CACHE.parent.mkdir(parents=True, exist_ok=True)
        AIC_CACHE.write_text(json.dumps(cache), encoding="utf-8")
    return [cache[key(r)] for r in requests], version


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def median_abs_pct(pred: list[float], meas: list[float]) -> float:
    p, m = np.asarray(pred, dtype=float), np.asarray(meas, dtype=float)
    return float(np.median(np.abs(p / m - 1.0)) * 100.0) if p.size else float("nan")


def cell(v: float | None) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.1f}%"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store bench/results/peer_compare.md")
    ap.add_argument("--limit", type=int, default=0, help="first N AIC rows of each mode only")
    args = ap.parse_args()
    cat = default_catalog()
    t0 = time.perf_counter()
    tg = tokenfab_held_out(cat)
    t_tokenfab = time.perf_counter() - t0
    n_calibration = len(tg.runs)
    validation = set(add_validation(tg, cat))
    aic_path = next((f for f in tg.files if f.name == "aic_silicon_sample.csv"), None)
    raw_rows: dict[str, dict[str, str]] = {}
    if aic_path is not None:
        with aic_path.open(newline="", encoding="utf-8") as fh:
            raw_rows = {r["id"]: r for r in csv.DictReader(fh)}

    def from_aic(m: Any) -> bool:
        return aic_path is not None and m.source.startswith(f"{aic_path}:")

    def from_validation(m: Any) -> bool:
        return m.source.rsplit(":", 1)[0].endswith(frozen_set.FILE.name)

    # the rows: every run tokenfab predicts at least one metric of, then the validation rows
    predicted = sorted({i for (i, _) in tg.held_out})
    n_predicted_calibration = sum(1 for i in predicted if i < n_calibration)
    if args.limit:
        kept, seen = [], Counter()
        for i in predicted:
            m = tg.runs[i]
            kind = (from_aic(m), m.mode)
            if not from_aic(m) or seen[kind] < args.limit:
                kept.append(i)
                seen[kind] += 1
        predicted = kept

    # peer requests (offline max-load throughput rows get the batch tokenfab finds fits, as in
    # peer_compare.py; none of the AIC rows is offline)
    aic_req: dict[int, dict[str, Any]] = {}
    aic_why: Counter = Counter()
    for i in predicted:
        m = tg.runs[i]
        raw = raw_rows.get(m.notes) if from_aic(m) else None
        r = peer_rows.aic_request(m, raw, tg.offline_batch.get(i))
        if isinstance(r, str):
            aic_why[r] += 1
        else:
            aic_req[i] = r
    aic: dict[int, dict[str, Any]] = {}
    aic_note, aic_version = "", "0.12.0"
    py, why = venv_python(AIC_VENV, AIC_PACKAGE, "aiconfigurator")
    if py is None:
        aic_note = f"not run: {why}"
    else:
        try:
            idx = list(aic_req)
            out, aic_version = aic_estimates(py, [aic_req[i] for i in idx])
            for i, o in zip(idx, out, strict=True):
                if "error" in o:
                    aic_why[f"{o['error'].split(':')[0]}: {short(o['error'])}"] += 1
                else:
                    aic[i] = o
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            aic_note = f"not run: {exc}"

    # llm-analysis requests
    la_cfg: dict[int, dict[str, Any]] = {}
    la_why: Counter = Counter()
    for i in predicted:
        m = tg.runs[i]
        model = cat.model(m.model)
        reason = peer_rows.llm_analysis_reason(m, model, tg.offline_batch.get(i))
        if reason:
            la_why[reason] += 1
            continue
        la_cfg[i] = {
            "model": peer_compare.peer_model(model),
            "gpu": peer_compare.peer_gpu(cat.accelerator(m.accelerator)),
            "dtype": peer_rows.LLM_ANALYSIS_DTYPES[m.precision],
            "tp": m.layout.tp,
            "batch": peer_rows.llm_analysis_batch(m, tg.offline_batch.get(i)),
            "input_tokens": round(m.isl),
            "output_tokens": max(round(m.osl), 1),
            "kv_bytes": 1 if (m.kv_precision or m.precision) == "fp8" else 2,
            "ttft": True,
        }
    la: dict[int, dict[str, Any]] = {}
    la_note, la_version, la_seconds = "", "0.2.2", float("nan")
    la_py = peer_compare.peer_python()
    if la_py is None:
        la_note = f"not run: could not install {peer_compare.PEER_PACKAGE}"
    else:
        try:
            idx = list(la_cfg)
            got = peer_compare.run_peer(la_py, [la_cfg[i] for i in idx], 1)
            la_version = got["version"]
            la_seconds = float(np.median(got["seconds"])) / max(got["timed_configs"], 1)
            for i, r in zip(idx, got["results"], strict=True):
                if r.get("output_tok_s") is None:
                    la_why["does not fit in its memory model at batch 1"] += 1
                elif r["capped"]:
                    la_why["batch beyond its memory model (capped rows left out)"] += 1
                else:
                    la[i] = r
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            la_note = f"not run: {exc}"

    tools_by = {"aic": aic, "la": la}

    def peer_value(tool: dict[int, dict], i: int, metric: str) -> float | None:
        r = tool.get(i)
        if r is None or r.get(metric) is None:
            return None
        v = float(r[metric])
        if metric == "output_tok_s":
            m = tg.runs[i]
            # a peer's figure is for one instance: scale to the run's accelerators
            gpus = r.get("gpus") or (m.layout.tp if tool is la else 0)
            if not gpus:
                return None
            v *= m.accelerators / gpus
        return v if np.isfinite(v) and v > 0 else None

    subsets = [
        ("AIC sample, aggregated", lambda m: from_aic(m) and m.mode == "agg"),
        ("AIC sample, disaggregated", lambda m: from_aic(m) and m.mode == "disagg"),
        (
            "published rows (bench/data)",
            lambda m: not from_aic(m) and not from_validation(m),
        ),
    ]
    subsets.append(
        (
            "MLPerf validation (report only)",
            from_validation,
        )
    )
    lines = []
    for name, keep in subsets:
        for metric in METRICS:
            rows = [
                i
                for i in predicted
                if keep(tg.runs[i]) and np.isfinite(tg.held_out.get((i, metric), np.nan))
            ]
            if not rows:
                continue
            for tools in ((), ("aic",), ("la",), ("aic", "la")):
                same = [
                    i
                    for i in rows
                    if all(peer_value(tools_by[t], i, metric) is not None for t in tools)
                ]
                if not same:
                    continue
                meas = [tg.measured[(i, metric)] for i in same]
                errs = {
                    t: median_abs_pct([peer_value(tools_by[t], i, metric) for i in same], meas)
                    if t in tools
                    else None
                    for t in ("aic", "la")
                }
                lines.append(
                    [
                        name,
                        METRIC_LABELS[metric],
                        " + ".join(TOOL_LABELS[t] for t in tools) or "tokenfab",
                        str(len(same)),
                        cell(median_abs_pct([tg.held_out[(i, metric)] for i in same], meas)),
                        cell(errs["aic"]),
                        cell(errs["la"]),
                    ]
                )
    table = peer_compare.table(
        [
            "rows",
            "metric",
            "rows expressed by",
            "n",
            "tokenfab held out",
            f"AIConfigurator {aic_version}",
            f"llm-analysis {la_version}",
        ],
        lines,
    )
    # the validation rows one by one (few, and where the tools part most)
    val_rows = []
    for i in sorted(validation):
        m = tg.runs[i]
        meas = tg.measured[(i, "output_tok_s")]
        got = [
            tg.held_out[(i, "output_tok_s")],
            *(peer_value(tools_by[t], i, "output_tok_s") for t in ("aic", "la")),
        ]
        lay = m.layout
        val_rows.append(
            [
                f"{m.notes} ({m.precision}; tp{lay.tp} pp{lay.pp} ep{lay.moe_ep} "
                f"b{tg.offline_batch[i]:g})",
                f"{meas:,.0f}",
                *("-" if v is None else f"{v:,.0f} ({100 * (v / meas - 1):+.0f}%)" for v in got),
            ]
        )
    val_table = peer_compare.table(
        [
            "MLPerf row (tokenfab's layout and batch)",
            "measured tok/s",
            "tokenfab",
            "AIConfigurator",
            "llm-analysis",
        ],
        val_rows,
    )
    aic_s = [o["seconds"] for o in aic.values()]
    speed = peer_compare.table(
        ["tool", "time per estimate", "how"],
        [
            [
                "tokenfab",
                f"{tg.seconds_per_row * 1e6:.1f} us",
                "vectorised over all targets (adapter.predict), per target",
            ],
            [
                "tokenfab, one a call",
                f"{tg.seconds_scalar * 1e3:.2f} ms",
                "adapter.predict on one target, median of 50",
            ],
            [
                f"AIConfigurator {aic_version}",
                f"{np.median(aic_s) * 1e3:.1f} ms" if aic_s else "n/a",
                f"cli_estimate, median over {len(aic_s)} rows once its database is loaded",
            ],
            [
                f"AIConfigurator {aic_version}, with loading",
                f"{np.mean(aic_s) * 1e3:.0f} ms" if aic_s else "n/a",
                "mean of the same calls, each system x engine's first call loading its "
                "database (rows sorted by system, engine, model)",
            ],
            [
                f"llm-analysis {la_version}",
                f"{la_seconds * 1e3:.2f} ms" if np.isfinite(la_seconds) else "n/a",
                "LLMAnalysis(...).inference(...) in a loop, per row",
            ],
        ],
    )
    hybrid = sum(1 for o in aic.values() if o.get("database_mode") == "HYBRID")
    dbs = sorted(
        {
            (r["system_name"], r["backend_name"], aic[i]["version"])
            for i, r in aic_req.items()
            if i in aic
        }
    )
    n_aic_rows = sum(1 for i in predicted if from_aic(tg.runs[i]))
    notes = "\n".join(
        [
            f"{n_predicted_calibration} calibration runs tokenfab predicts ({n_aic_rows} from the "
            f"AIC silicon sample), held out by configuration ({t_tokenfab:.0f} s, refit per "
            f"fold); {len(validation)} validation rows it predicts.",
            f"AIConfigurator {aic_version}: {len(aic)} rows estimated"
            + (f" ({hybrid} with its HYBRID fallback)" if hybrid else "")
            + (f"; {aic_note}" if aic_note else "")
            + ", with the database versions it ships: "
            + ", ".join(f"{sy} {b} {v}" for sy, b, v in dbs)
            + ". Not expressed or failed: "
            + (", ".join(f"{r} ({n})" for r, n in aic_why.most_common()) or "none")
            + ".",
            f"llm-analysis {la_version}: {len(la)} rows"
            + (f"; {la_note}" if la_note else "")
            + ". Not expressed: "
            + (", ".join(f"{r} ({n})" for r, n in la_why.most_common()) or "none")
            + ".",
            "AIConfigurator's database was measured on the same NVIDIA systems as the AIC rows "
            "(by the same project), so on them it is close to in-sample; tokenfab's figures are "
            "held out by configuration (5 folds holding a configuration's runs out together). "
            "Disaggregated rows: TPOT of the decode pool (tokenfab models only that). "
            "llm-analysis TTFT is its prefill of one prompt (it has no queueing); tokenfab's and "
            "AIConfigurator's TTFT include the wait under the row's closed-loop concurrency. "
            "Offline max-load rows: every tool gets the batch tokenfab finds fits. MLPerf "
            "validation rows: tokenfab with its stored factors (bench/frozen_set.py, never "
            "fitted to them), the peers at tokenfab's chosen layout and batch (so they are "
            "compared on the step model, not on a configuration search); AIConfigurator ships no "
            "Llama 2 config, so Llama 2 70B runs on its Llama 3.1 70B one (same layers, widths "
            "and GQA; a 4x larger vocabulary, ~1% more weights).",
        ]
    )
    text = f"{table}\n\n{speed}\n\n{notes}\n\n{val_table}\n"
    print(text)
    target = RESULT if args.write else SCRATCH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"# tokenfab vs AIConfigurator {aic_version} and llm-analysis {la_version}\n\n"
        f"Generated by `python bench/bench_peers.py --write`. Median absolute error on the same "
        f"rows.\n\n{text}",
        encoding="utf-8",
    )
    print(f"wrote {target}", file=sys.stderr)
    return 0


def short(err: str) -> str:
    """An error's kind without its row-specific details (for counting).

    >>> short("AssertionError: num_heads 128 should be divisible by tp_size 72")
    'num_heads N should be divisible by tp_size N'
    """
    text = err.split(":", 1)[-1].strip()
    for stop in (" for ", " at ", "(", "'", ","):
        text = text.split(stop)[0]
    return re.sub(r"\d+", "N", text.strip())[:70]


if __name__ == "__main__":
    sys.exit(main())
