"""The forward commands (project, roadmap, narrative, scenario new) as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from tokenfab import schema
from tokenfab.scenario import Scenario

TOKENFAB = Path(sys.executable).parent / "tokenfab"
ENV = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
EXAMPLE = Path(__file__).parent.parent / "examples" / "projection-llama-70b-h100.yaml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TOKENFAB), *args], capture_output=True, text=True, env=ENV, timeout=300
    )


@cache
def runs() -> dict[str, subprocess.CompletedProcess]:
    todo = {
        "project": ("project", str(EXAMPLE), "--json"),
        "project_table": ("project", str(EXAMPLE), "--years", "3"),
        "project_fan": ("project", str(EXAMPLE), "--samples", "50", "--seed", "1", "--json"),
        "roadmap": ("roadmap", str(EXAMPLE), "--json"),
        "narrative": ("narrative", str(EXAMPLE), "--json"),
        # not the template's default accelerator; B200 meets the chat workload's 0.45 s TTFT
        # with room (an L40S prefills the 6,000-token prompt in ~0.45 s in BF16: at the edge)
        "new": ("scenario", "new", "--model", "llama-3.1-8b", "--accelerator", "b200"),
        "new_bad": ("scenario", "new", "--accelerator", "h100"),
        "project_bad_rate": ("project", str(EXAMPLE), "--api-price-decline-per-year", "1.5"),
        "project_bad_out": ("project", str(EXAMPLE), "--out", "x.txt"),
        "project_missing": ("project", "nope.yaml"),
    }
    with ThreadPoolExecutor(4) as pool:
        done = dict(zip(todo, pool.map(lambda a: run(*a), todo.values()), strict=True))
    return done


def test_project_json_is_the_result_model():
    r = runs()["project"]
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert schema.ProjectResult.model_validate(doc).model_dump() == doc
    # the example's projection block sets 5 years from 2026 (examples/projection-*.yaml)
    assert [y["calendar_year"] for y in doc["years"]] == [2026, 2027, 2028, 2029, 2030]
    given = {a["name"]: a for a in doc["assumptions"]}
    assert given["demand_growth_per_year"]["source"] == "given in the scenario"


def test_project_fan_json_is_the_result_model():
    r = runs()["project_fan"]
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert schema.ProjectResult.model_validate(doc).model_dump() == doc
    assert doc["fan"]["samples"] == 50
    # the example gives demand growth as a yearly list: only the API decline is sampled
    assert [i["name"] for i in doc["fan"]["inputs"]] == ["api_price_decline_per_year"]
    # the file has no distributions: block, so its inputs vary over montecarlo's defaults:
    # the H100's published street-price range (25,000-30,000 USD, accelerators.csv) among them
    scen = {i["name"]: i for i in doc["fan"]["scenario_inputs"]}
    assert scen["accelerators.h100-sxm.price_usd"]["distribution"] == (
        "low-base-high(low 25000, base 27500, high 30000)"
    )
    assert 0.0 < doc["fan"]["feasible_share"] <= 1.0


def test_project_options_override_the_file():
    r = runs()["project_table"]
    assert r.returncode == 0, r.stderr
    assert "2028" in r.stdout and "2029" not in r.stdout.split("assumptions:")[0]


def test_roadmap_and_narrative_json_are_their_result_models():
    for name, model in (("roadmap", schema.RoadmapResult), ("narrative", schema.NarrativeResult)):
        r = runs()[name]
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert model.model_validate(doc).model_dump() == doc


def test_scenario_new_writes_a_template_estimate_accepts(tmp_path):
    r = runs()["new"]
    assert r.returncode == 0, r.stderr
    path = tmp_path / "s.yaml"
    path.write_text(r.stdout)
    sc = Scenario.from_yaml(path)
    assert (sc.model, sc.accelerator) == ("llama-3.1-8b", "b200")
    # every Scenario field is in the template, set or commented with its description
    for name in Scenario.model_fields:
        assert f"{name}:" in r.stdout, name
    est = run("estimate", "--scenario", str(path), "--json")
    assert est.returncode == 0, est.stderr
    assert json.loads(est.stdout)["accelerator"] == "b200"


def test_an_invalid_template_names_its_line_and_field(tmp_path):
    text = runs()["new"].stdout.replace("tokens_per_day: 1.0e+9", "tokens_per_day: 1.0e+30")
    line = text.splitlines().index("tokens_per_day: 1.0e+30") + 1
    path = tmp_path / "s.yaml"
    path.write_text(text)
    r = run("estimate", "--scenario", str(path))
    assert r.returncode == 2
    assert f"s.yaml:{line}: tokens_per_day: 1e+30 is out of range" in r.stderr


def test_scenario_new_writes_to_a_file_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "new.yaml"
    first = run("scenario", "new", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert Scenario.from_yaml(out).model == "llama-3.1-70b"
    again = run("scenario", "new", "--out", str(out))
    assert again.returncode == 2
    assert "exists; give --force" in again.stderr


def test_scenario_new_force_refuses_a_folder(tmp_path):
    # was: "bug: IsADirectoryError ... at fileio.py", exit 3
    r = run("scenario", "new", "--out", str(tmp_path), "--force")
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: --out {tmp_path}: is a folder; give a file name"


def test_bad_input_is_one_line_naming_the_field():
    assert "accelerator" in runs()["new_bad"].stderr and "h100-sxm" in runs()["new_bad"].stderr
    for name, field in (
        ("project_bad_rate", "api_price_decline_per_year"),
        ("project_bad_out", "--out"),
        ("project_missing", "nope.yaml"),
    ):
        r = runs()[name]
        assert r.returncode == 2, (name, r.stderr)
        assert field in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, (name, r.stderr)


def test_roadmap_table_keeps_its_source_urls_whole(tmp_path):
    # Llama 3.1 8B in BF16 on H100s: the lower-precision lever cites Kurtic et al. by URL,
    # https://arxiv.org/abs/2411.02355; the 50-wide column cut it to ".../abs/2411.0…" at the
    # CLI's default width. The column folds now: every character is printed, across lines.
    path = tmp_path / "bf16.yaml"
    path.write_text("model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: 1.0e+9\n")
    r = run("roadmap", str(path))
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    cells = "".join(line.split("│")[-2].strip() for line in r.stdout.splitlines() if "│" in line)
    assert "https://arxiv.org/abs/2411.02355" in cells


def test_scenario_new_refuses_force_without_a_file():
    # the rule: an option that changes nothing is refused. Without --out the template goes
    # to stdout, so --force overwrote nothing and was dropped in silence
    r = run("scenario", "new", "--force")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: --force: overwrites the --out file; give --out too, or drop --force"
    )
    assert r.stdout == ""


def test_roadmap_says_what_its_cost_per_million_tokens_counts(tmp_path):
    # roadmap's $/Mtok is a request's whole cost over its output tokens (RoadmapPoint), which
    # for the chat workload (6,000 prompt / 300 output tokens) is well above estimate's output
    # price, which bills the prompts apart (the projection example: 5.41 against 3.14); the
    # base line said "$5.41/Mtok" with no basis, now what project's note and the narrative say
    r = run("roadmap", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    base = " ".join(r.stdout.split("Levers")[0].split())
    assert "per 1M output tokens (all cost over output tokens, prompt processing included)" in base
    assert "J per output token" in base


def test_every_cost_per_million_output_tokens_says_its_basis_and_the_two_agree():
    # the chat example: estimate printed "$3.14 per 1M output tokens" (decode's time, prompts
    # charged to input tokens as an API's output price does) while project and roadmap
    # printed $5.41 for the same deployment (a request's whole cost over its 300 output
    # tokens), both labelled alike. Each now names its basis, and estimate gives the all-cost
    # figure beside its own: the same number roadmap's base prints
    chat = Path(__file__).parents[1] / "examples" / "chat-llama-70b-h100.yaml"
    est = " ".join(run("estimate", "--scenario", str(chat)).stdout.split())
    m = re.search(
        r"\$(\S+) per 1M output tokens, prompts charged separately \(\$(\S+) all cost over "
        r"output tokens\)",
        est,
    )
    assert m, est[:300]
    rm = " ".join(run("roadmap", str(chat)).stdout.split())
    base = re.search(r"\$(\S+) per 1M output tokens \(all cost over output tokens", rm)
    assert base, rm[:300]
    assert float(m[2]) == pytest.approx(float(base[1]), rel=5e-3)
    assert float(m[1]) < float(m[2])  # decode's share alone is below the whole cost
