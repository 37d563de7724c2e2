"""Run AIConfigurator on requests read as JSON from stdin; write its estimates to stdout.

Executed by ``bench/bench_peers.py`` with the python of ``bench/.aic-venv`` (``aiconfigurator``
0.12.0 from PyPI and its pinned dependencies, apart from tokenfab's). Offline: the wheel ships
its performance database (``aiconfigurator_core/systems/data/``) and the model configs used.
Input::

    {"requests": [{"model_path": "Qwen/Qwen3-32B", "system_name": "h100_sxm",
                   "backend_name": "trtllm", "mode": "agg", "isl": 4000, "osl": 500,
                   "batch_size": 16, "tp_size": 2, ...}, ...]}

(keyword arguments of ``aiconfigurator.cli.api.cli_estimate``). Each request runs with the one
database version the wheel holds for its system and engine (the newest), its default SILICON
database mode, HYBRID (its empirical fallback) where a kernel has no silicon data. Output: per request
TTFT and TPOT [s], output tokens/s over all its GPUs, the GPUs, the database version and the
wall time of the call [s]; or the error's first line.
"""

import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path


def shipped_as_local(model_path: str, into: Path) -> str:
    """The model path to pass: a config the wheel ships but does not list among its default
    models (Mixtral) would otherwise be downloaded; copied to a local folder, which
    ``cli_estimate`` accepts as a model path, it is read offline."""
    from aiconfigurator_core.sdk.common import DefaultHFModels

    if model_path in DefaultHFModels or os.path.isdir(model_path):
        return model_path
    stem = model_path.replace("/", "--")
    shipped = files("aiconfigurator_core") / "model_configs"
    if not (shipped / f"{stem}_config.json").is_file():
        return model_path
    folder = into / stem
    if not folder.is_dir():
        folder.mkdir(parents=True)
        shutil.copyfile(str(shipped / f"{stem}_config.json"), folder / "config.json")
        quant = shipped / f"{stem}_hf_quant_config.json"
        if quant.is_file():
            shutil.copyfile(str(quant), folder / "hf_quant_config.json")
    return str(folder)


def main() -> None:
    logging.disable(logging.WARNING)  # its per-file INFO/WARNING lines would flood stderr
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from aiconfigurator.cli import api
    from aiconfigurator.sdk import perf_database as pdb

    # the database view and the newest version are looked up once per system and engine (the
    # version lookup parses every collection's YAML and takes seconds a call)
    view = functools.lru_cache(maxsize=None)(pdb.get_database_view)
    pdb.get_database_view = lambda *a, **k: view(*a, **{x: k[x] for x in sorted(k)})
    latest = functools.lru_cache(maxsize=None)(pdb.get_latest_database_version)

    request = json.load(sys.stdin)
    out = []
    local = Path(tempfile.mkdtemp(prefix="aic-models-"))
    for req in request["requests"]:
        req = {**req, "model_path": shipped_as_local(req["model_path"], local)}
        t0 = time.perf_counter()
        try:
            ver = latest(system=req["system_name"], backend=req["backend_name"])
            t0 = time.perf_counter()
            mode = "SILICON"  # its default
            try:
                res = api.cli_estimate(**req, backend_version=ver)
            except Exception as exc:  # only a missing kernel is retried
                if type(exc).__name__ != "PerfDataNotAvailableError":
                    raise
                # a kernel without silicon data: its empirical fallback, as its CLI suggests
                mode = "HYBRID"
                t0 = time.perf_counter()
                res = api.cli_estimate(**req, backend_version=ver, database_mode=mode)
            raw = res.raw
            out.append(
                {
                    "ttft_s": float(res.ttft) / 1e3,
                    "tpot_s": float(res.tpot) / 1e3,
                    "output_tok_s": float(raw.get("tokens/s", float("nan"))),
                    "gpus": int(raw.get("num_total_gpus", 0) or 0),
                    "version": ver,
                    "database_mode": mode,
                    "seconds": time.perf_counter() - t0,
                }
            )
        except Exception as exc:  # any failure is reported per request
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            out.append({"error": f"{type(exc).__name__}: {text[:200]}"})
    shutil.rmtree(local, ignore_errors=True)
    json.dump({"version": version("aiconfigurator"), "results": out}, sys.stdout)


if __name__ == "__main__":
    main()
