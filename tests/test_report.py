"""Reports (tokenfab.report, `tokenfab report`): the ledger's labels and sources, the error
band, the self-contained HTML and the PDF."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenfab import report, schema
from tokenfab.catalog import default_catalog
from tokenfab.cli import app
from tokenfab.planning import evaluate

DATA = Path(report.__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
H100 = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 8, "precision": "fp8"}


@pytest.fixture(scope="module")
def h100():
    return report.build(H100, compare=True)


def _csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _rows(rep, group: str) -> dict[str, report.LedgerRow]:
    return {r.quantity: r for r in rep.ledger if r.group == group}


def test_every_ledger_row_has_a_kind_and_a_source(h100):
    assert h100.ledger
    for row in h100.ledger:
        assert row.kind in report.KINDS, row
        assert row.source.strip(), row
    # all five kinds appear for a calibrated accelerator with measurements
    assert {r.kind for r in h100.ledger} == set(report.KINDS)


def test_ledger_catalog_figures_are_the_catalog_rows(h100):
    # data/regions.csv, row us: 0.0806 USD/kWh (EIA 2023 industrial), 383.8 g/kWh, PUE 1.56
    us = next(r for r in _csv("regions.csv") if r["id"] == "us")
    region = _rows(h100, "Region us")
    for name in ("electricity_usd_per_kwh", "grid_co2e_g_per_kwh", "pue"):
        assert region[name].kind == "catalog"
        assert region[name].value == pytest.approx(float(us[name]))
        assert us["source"][:40] in region[name].source
    # data/accelerators.csv, row h100-sxm: the FP8 dense peak is the peak the fp8 estimate uses
    h = next(r for r in _csv("accelerators.csv") if r["id"] == "h100-sxm")
    acc = _rows(h100, "Accelerator h100-sxm")
    assert acc["fp8_dense_tflops"].value == pytest.approx(float(h["fp8_dense_tflops"]))
    assert acc["memory_bandwidth_tb_s"].value == pytest.approx(float(h["memory_bandwidth_tb_s"]))


def test_ledger_efficiencies_are_calibrated_with_their_held_out_error(h100):
    # the hopper / trtllm row of data/efficiency.csv is the one an H100 estimate uses
    row = next(r for r in _csv("efficiency.csv") if r["id"] == "hopper-trtllm")
    engine = _rows(h100, "Engine trtllm")
    assert engine["compute_efficiency"].kind == "calibrated"
    # an FP8 estimate on H100 multiplies at the FP8 rate: that rate's column
    assert engine["compute_efficiency"].value == pytest.approx(
        float(row["compute_efficiency_8bit"])
    )
    assert "compute_efficiency_8bit" in engine["compute_efficiency"].source
    assert engine["bw_efficiency"].value == pytest.approx(float(row["bw_efficiency"]))
    assert f"{float(row['cv_median_abs_error']):.1%}" in engine["bw_efficiency"].source
    # the band: the estimate's own (held-out residual bands) where it has them, else that
    # row's held-out median error
    own = h100.result.model_dump().get("error_band_basis")
    if own:
        assert h100.band.basis == own
    else:
        assert h100.band.relative == pytest.approx(float(row["cv_median_abs_error"]))
        assert h100.band.largest == pytest.approx(float(row["cv_max_abs_error"]))


def test_ledger_names_the_efficiency_column_the_estimate_read():
    # Qwen3-32B's FP8 release is block-scaled (models.csv fp8_checkpoint_block 128) and MI300X
    # (CDNA3) has no FP4 units, so the estimate asks for compute_efficiency_8bit_block; the
    # cdna3-vllm row leaves it blank, so the value is the row's compute_efficiency_8bit
    # (0.2592 in the shipped row) and the ledger must name that column, not the blank one
    row = next(r for r in _csv("efficiency.csv") if r["id"] == "cdna3-vllm")
    assert row["compute_efficiency_8bit_block"] == ""  # the premise
    rep = report.build(
        {"model": "qwen3-32b", "accelerator": "mi300x", "accelerators": 1, "precision": "fp8"}
    )
    eff = _rows(rep, "Engine vllm")["compute_efficiency"]
    assert eff.value == pytest.approx(float(row["compute_efficiency_8bit"]))
    assert "compute_efficiency_8bit (block-scaled FP8 weights" in eff.source
    assert "compute_efficiency_8bit_block" not in eff.source


def test_kpi_bands_bracket_the_kpi(h100):
    d = h100.result.model_dump()
    for key in report.BANDED:
        band = report.kpi_band(d, key, h100.band)
        assert band is not None, key
        assert band[0] <= d[key] <= band[1], key
    # a band, not a point: H100 runs on a calibration with a non-zero held-out error
    lo, hi = report.kpi_band(d, "cost_usd_per_mtok_output", h100.band)
    assert hi > lo


def test_ledger_measured_rows_are_the_best_measurement(h100):
    # data/gpu_measurements.csv: the fastest HBM reading on h100-sxm (bf16 copy or reduction)
    hbm = [
        float(r["achieved_tb_s"])
        for r in _csv("gpu_measurements.csv")
        if r["accelerator_id"] == "h100-sxm"
        and r["kind"] == "hbm_bandwidth"
        and r["dtype"] == "bf16"
    ]
    measured = {r.quantity: r for r in h100.ledger if r.kind == "measured"}
    hbm_row = next(r for q, r in measured.items() if q.startswith("hbm_bandwidth bf16"))
    assert hbm_row.value == pytest.approx(max(hbm))
    assert f"({len(hbm)} runs)" in hbm_row.quantity
    # a measured figure cannot exceed the datasheet peak it measures (3.35 TB/s for H100 SXM)
    assert hbm_row.value <= 3.35


def test_ledger_outputs_are_the_estimate(h100):
    cat = default_catalog()
    est = schema.EstimateResult.from_estimate(
        evaluate(schema.EstimateRequest.parse(H100).scenario(), cat), cat
    )
    outputs = _rows(h100, "Estimate")
    assert outputs["cost_usd_per_mtok_output"].value == pytest.approx(est.cost_usd_per_mtok_output)
    assert outputs["ttft_s"].kind == "modelled"
    assert outputs["ttft_s"].unit == "s"
    # inputs given are labelled input
    given = _rows(h100, "Scenario")
    assert given["accelerators"].value == 8 and given["accelerators"].kind == "input"


def test_uncalibrated_family_has_no_band_and_modelled_efficiencies():
    # data/efficiency.csv has no gaudi3 row: the median of the vllm class is used
    rep = report.build({"model": "llama-3.1-8b", "accelerator": "gaudi3"}, compare=False)
    assert rep.band.relative is None
    assert "uncalibrated" in rep.band.basis
    engine = _rows(rep, "Engine vllm")
    assert engine["compute_efficiency"].kind == "modelled"
    html = report.to_html(rep)
    assert "uncalibrated" in html


def test_html_is_self_contained_with_inline_charts(h100):
    html = report.to_html(h100)
    # no file or address outside the page: every image is a data: URI, no script or stylesheet
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)
    assert "<script" not in html and "<link" not in html
    charts = re.findall(r'<img class="chart" alt="([^"]+)" src="data:image/svg\+xml;base64,', html)
    # frontier, cost lines, accelerators, regions, and the sensitivity section's tornado
    # (tokenfab.uncertainty on tokenfab.pipeline)
    assert len(charts) == 5, charts
    assert charts[4].startswith("Tornado of the blended cost"), charts
    assert "Assumptions ledger" in html
    # the KPI table shows the estimate's cost per million output tokens
    assert report._num(h100.result.cost_usd_per_mtok_output) in html


def test_compare_takes_the_same_demand_for_every_option(h100):
    # no demand in the scenario: the comparison serves what this deployment serves,
    # output tok/s x 86,400 s x utilisation
    r = h100.result
    assert h100.compare_tokens_per_day == pytest.approx(
        r.output_tok_s_total * 86_400 * r.utilization
    )
    best = report.best_by(h100.compare, "accelerator", {"region": r.region})
    costs = [o["cost_usd_per_mtok_output"] for o in best]
    assert costs == sorted(costs)
    assert len({o["accelerator"] for o in best}) == len(best)


def test_pdf_is_a_pdf(h100):
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:  # pragma: no cover - make test installs pango
        pytest.skip(f"WeasyPrint's system libraries are missing: {exc}")
    pdf = report.to_pdf(h100)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000  # four charts and the ledger, not an empty page


def test_bad_field_names_it():
    with pytest.raises(Exception, match=r"^accelerators: unknown id 'h100-sxx'"):
        report.build({**H100, "accelerator": "h100-sxx"})


# -- the command ---------------------------------------------------------------------------


def test_cli_writes_html(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        app,
        ["report", str(EXAMPLES / "chat-llama-70b-h100.yaml"), "--region", "eu", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert "Region eu" in text  # the option overrides the file's region (us)
    assert "llama-3.1-70b" in text


REFUSALS = {
    "pdf suffix without --pdf": (
        ["--out", "r.pdf"],
        "a PDF needs --pdf; without it the report is HTML",
    ),
    "html suffix with --pdf": (["--out", "r.html", "--pdf"], "writes .pdf files; got .html"),
    "no --out": ([], "--out: give the file to write"),
    "unknown region": (
        ["--out", "r.html", "--region", "mars"],
        "region: unknown id 'mars' in regions",
    ),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """The console script on each bad command line, in parallel (each starts Python)."""
    tokenfab = Path(sys.executable).parent / "tokenfab"
    scenario = str(EXAMPLES / "chat-llama-70b-h100.yaml")
    runs = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, (args, _) in REFUSALS.items():
            cwd = tmp_path_factory.mktemp("refusal")
            cmd = [str(tokenfab), "report", scenario, *args]
            runs[name] = (
                cwd,
                pool.submit(
                    subprocess.run, cmd, cwd=cwd, capture_output=True, text=True, timeout=120
                ),
            )
    return {name: (cwd, f.result()) for name, (cwd, f) in runs.items()}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_cli_refuses_with_one_line(refusals, name):
    cwd, r = refusals[name]
    assert r.returncode == 2, r.stderr
    assert REFUSALS[name][1] in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # one line, no traceback
    assert not list(cwd.iterdir())  # nothing written


def test_every_forward_looking_section_is_in_the_report(h100):
    # sensitivity, roadmap, projection and narrative: each section has content and a heading
    html = report.to_html(h100)
    for title, _ in report.SECTIONS:
        assert h100.extras[title].strip(), title
        assert f"<h2>{title}</h2>" in html


def test_the_command_a_report_shows_writes_the_same_report(h100, tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    args = shlex.split(report.command(h100.request))
    assert args[:2] == ["tokenfab", "report"]
    r = CliRunner().invoke(app, args[1:])
    assert r.exit_code == 0, r.output
    again = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert report.command(h100.request) in again
    assert report._num(h100.result.cost_usd_per_mtok_output) in again


def test_a_heterogeneous_scenario_is_compared_with_one_accelerator_options():
    # the comparison plan was asked for the prefill pool too and failed for every option
    hetero = {**H100, "accelerator": "h200-sxm", "prefill_accelerator": "b200"}
    rep = report.build(hetero, compare=True)
    assert rep.result.prefill_replicas > 0  # the report's own estimate keeps both pools
    assert rep.compare  # options to compare with, each one accelerator type
    assert {o["accelerator"] for o in rep.compare} <= set(default_catalog().table("accelerators"))
    # the title names both pools (it said "on 12 x h200-sxm" for 4 x b200 + 8 x h200-sxm)
    r = rep.result
    assert r.prefill_accelerators + r.decode_accelerators == r.accelerators
    title = (
        f"{r.prefill_accelerators} x b200 (prefill) + {r.decode_accelerators} x h200-sxm (decode)"
    )
    assert f"<title>tokenfab report: llama-3.1-70b on {title}</title>" in report.to_html(rep)
