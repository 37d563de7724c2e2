"""``tokenfab usage ...`` and ``tokenfab export-prices`` run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

TOKENFAB = Path(sys.executable).parent / "tokenfab"
ENV = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}


def tokenfab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOKENFAB), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("usage_cli")
    first = tokenfab("usage", "synth", "--rows", "500", "--days", "7", "--out", "log.jsonl", cwd=d)
    (d / "cat").mkdir()
    (d / "cat" / "api_prices.csv").write_text(
        "id,provider,model_name,model_id,input_usd_per_mtok,output_usd_per_mtok,"
        "cached_input_usd_per_mtok,context_tokens,effective_date,source,as_of,notes\n"
        "own-gpt-4o-mini,OpenAI,gpt-4o-mini,,0.1,0.2,,8192,2025-09-01,negotiated price list,2025-09-01,\n",
        encoding="utf-8",
    )
    # 2,000 bytes that are not Parquet (was "bug: InvalidInputException: ... No magic bytes
    # found at end of file", exit 3)
    (d / "g.parquet").write_bytes((b"junk" + bytes(range(256)) * 8)[:2000])
    cmds = {
        "bad_parquet": ("usage", "report", "g.parquet"),
        "bad_parquet_whatif": ("usage", "whatif", "g.parquet", "--api", "gpt-4o-mini"),
        "report": ("usage", "report", "log.jsonl", "--json", "--out", "r.html"),
        # its only option cannot run (812 GB of weights on one 64 GB Jetson): was exit 0
        "whatif_none": (
            "usage",
            "whatif",
            "log.jsonl",
            "--self-host",
            "llama-3.1-405b:jetson-agx-orin-64gb",
        ),
        "text": ("usage", "report", "log.jsonl"),
        "missing": ("usage", "report", "missing.csv"),
        "bad_out": ("usage", "report", "log.jsonl", "--out", "r.txt"),
        "whatif": ("usage", "whatif", "log.jsonl", "--api", "gpt-4o-mini", "--json"),
        "whatif_dearer": (
            "usage",
            "whatif",
            "log.jsonl",
            "--api",
            "openai-gpt-4-5-preview-2025-02",
        ),
        "export": (
            "export-prices",
            "--format",
            "openlit",
            "--deployment",
            "qwen3-30b-a3b:h100-sxm:eu:rent",
            "--out",
            "p.json",
        ),
        "bad_format": ("export-prices", "--format", "yaml"),
        # was "bug: OutOfMemoryException", exit 3
        "no_memory": ("usage", "report", "log.jsonl", "--memory-limit", "0GB"),
        "catalog": ("--catalog", "cat", "usage", "report", "log.jsonl", "--json"),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(tokenfab, *a, cwd=d) for k, a in cmds.items()}
    return d, first, {k: f.result() for k, f in futures.items()}


def test_synth_then_report(runs):
    d, first, r = runs
    assert first.returncode == 0, first.stderr
    assert r["report"].returncode == 0, r["report"].stderr
    rep = json.loads(r["report"].stdout)
    assert rep["summary"]["requests"] == 500 and rep["quality"]["format"] == "generic"
    assert "<table>" in (d / "r.html").read_text(encoding="utf-8")
    assert r["text"].returncode == 0 and "by model" in r["text"].stdout


def test_catalog_override_prices_the_log(runs):
    r = runs[2]["catalog"]
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    # a --catalog row in effect from 2025-09-01 is the latest for the October 2025 log
    p = rep["prices"]["gpt-4o-mini"]
    assert (p["price_id"], p["input_usd_per_mtok"], p["output_usd_per_mtok"]) == (
        "own-gpt-4o-mini",
        0.1,
        0.2,
    )


def test_whatif_and_export(runs):
    d, _, r = runs
    assert r["whatif"].returncode == 0, r["whatif"].stderr
    res = json.loads(r["whatif"].stdout)
    assert res["options"][0]["option"].startswith("API ")
    assert r["export"].returncode == 0, r["export"].stderr
    prices = json.loads((d / "p.json").read_text(encoding="utf-8"))
    assert set(prices["chat"]["qwen3-30b-a3b"]) == {"promptPrice", "completionPrice"}


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("missing", "LOGS: missing.csv is not a file"),
        ("whatif_none", "whatif: no option can run: self-host llama-3.1-405b:jetson-agx-orin"),
        ("bad_parquet", "LOGS: g.parquet is not a readable Parquet file (it does not start"),
        ("bad_parquet_whatif", "LOGS: g.parquet is not a readable Parquet file (it does not"),
        ("bad_out", "--out r.txt: writes .html files; got .txt"),
        ("bad_format", "format: 'yaml' is not allowed; allowed: litellm, langfuse, openlit"),
        ("no_memory", "--memory-limit: DuckDB ran out of memory under 0GB"),
    ],
)
def test_bad_input_is_one_line(runs, name, needle):
    r = runs[2][name]
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_synth_refuses_a_missing_folder_instead_of_creating_it(tmp_path):
    # other commands refuse a missing --out folder; synth used to mkdir it silently
    r = tokenfab("usage", "synth", "--rows", "10", "--out", "nope/log.jsonl", cwd=tmp_path)
    assert r.returncode != 0
    assert "folder nope does not exist" in r.stderr
    assert not (tmp_path / "nope").exists()


def test_whatif_text_says_a_dearer_option_costs_more(runs):
    # GPT-4.5 preview ($75 in / $150 out per Mtok) costs more than the synthetic log's mix;
    # the line said "saving $-1,234.56"
    r = runs[2]["whatif_dearer"]
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("API "))
    assert "saving" not in line and "$-" not in line
    assert line.endswith(" more") or " more," in line


def test_monte_carlo_saving_puts_the_minus_before_the_dollar():
    # self-hosting dearer than the log: the spread of the saving is negative, printed
    # "-$5,469.16" (it was "$-5,469.16", as the point line once was)
    from tokenfab.usage.cli import _usd

    assert _usd(-5469.164) == "-$5,469.16"
    assert _usd(0.0) == "$0.00"
    assert _usd(2219.15) == "$2,219.15"


def test_text_in_square_brackets_is_printed_not_read_as_markup(tmp_path):
    # QA: the console read "[...]" as Rich markup and dropped it: `usage params` printed each
    # parameter without its [source], and a log's unknown model "[ft]llama" was listed as
    # "llama". Every console now prints text as given.
    log = tmp_path / "log.csv"
    log.write_text(
        "timestamp,model,input_tokens,output_tokens\n2025-10-01T00:00:00Z,[ft]llama,5,1\n",
        encoding="utf-8",
    )
    out = tokenfab("usage", "report", str(log), cwd=tmp_path).stdout
    assert "unknown models, priced 'unknown': [ft]llama (1)" in out
    params = tokenfab("usage", "params", cwd=tmp_path).stdout
    assert "category_share: (0.32, 0.28, 0.25, 0.07, 0.08)  [assumed; order from seed 004" in params


def test_a_count_of_one_is_singular(tmp_path):
    # a log of 2 rows, one with a non-number prompt count: "1 malformed rows" and "1 requests"
    # were printed; 1 takes the singular (2 rows read, 1 file, 1 malformed row, 1 request)
    log = tmp_path / "one.csv"
    log.write_text(
        "timestamp,model,input_tokens,output_tokens\n"
        "2025-10-01T00:00:00Z,gpt-4o,5,1\n2025-10-01T00:00:00Z,gpt-4o,x,1\n",
        encoding="utf-8",
    )
    out = " ".join(tokenfab("usage", "report", str(log), cwd=tmp_path).stdout.split())
    assert out.startswith("2 rows read from 1 file as generic; 1 valid 1 malformed row left out (")
    assert " 1 request over " in out
