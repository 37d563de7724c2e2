"""``tokenfab calibrate`` end to end on the fixtures, and the catalog it writes winning over the
built-in efficiency rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenfab.calibrate.records import MeasurementFileError
from tokenfab.catalog import Catalog
from tokenfab.cli import app
from tokenfab.perf.calibration import choose_engine

FIX = Path(__file__).parent / "fixtures" / "calibrate"
RUN = CliRunner()


def test_user_efficiency_row_wins_over_the_built_in_one(tmp_path):
    builtin = choose_engine(Catalog(), Catalog().accelerator("h100-sxm"), "trtllm")
    rows = list(csv.DictReader(_builtin_efficiency().open()))
    row = next(r for r in rows if r["family"] == "hopper" and r["software"] == "trtllm")
    row.update(id="hopper-trtllm-my-cluster", compute_efficiency="0.123")
    with (tmp_path / "efficiency.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(row)
    cat = Catalog([tmp_path])
    mine = choose_engine(cat, cat.accelerator("h100-sxm"), "trtllm")
    assert float(mine.engine.compute_efficiency) == 0.123  # the user's row, not the built-in
    assert mine.efficiency_id == "hopper-trtllm-my-cluster"
    assert float(builtin.engine.compute_efficiency) != 0.123


def _builtin_efficiency() -> Path:
    from tokenfab.catalog import builtin_dir

    return builtin_dir() / "efficiency.csv"


def test_calibrate_writes_a_catalog_the_estimate_uses(tmp_path):
    out = tmp_path / "cal"
    res = RUN.invoke(
        app,
        [
            "calibrate",
            str(FIX / "generic.csv"),
            str(FIX / "aic_sample.csv"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    # generic.csv: 2 good rows + aic_sample.csv: 2 good rows = 4 runs; 2 bad records listed
    assert rep["runs"] == 4
    assert [r.split(": ", 1)[1] for r in rep["records_not_used"]] == [
        "precision: 'fp6' is not a known format; allowed: bf16, fp16, fp8, int8, fp4, mxfp4, int4",
        "tpot_s: not a number (got 'n/a')",
    ]
    # each listed with its file and line
    assert (
        rep["records_not_used"][0].split(": ", 1)[0].rsplit("/", 1)[-1].startswith("generic.csv:")
    )
    written = list(csv.DictReader((out / "efficiency.csv").open()))
    ids = {r["id"] for r in written}
    assert "hopper-vllm" in ids  # the Llama-3.1-70B H100 vLLM runs
    cat = Catalog([out])
    eng = choose_engine(cat, cat.accelerator("h100-sxm"), "vllm")
    row = next(r for r in written if r["id"] == "hopper-vllm")
    assert float(eng.engine.compute_efficiency) == pytest.approx(float(row["compute_efficiency"]))
    # the runs are FP8: the row's FP8-rate column is what an FP8 estimate uses (and, with no
    # 16-bit run fitted, the 16-bit column carries the same value)
    fp8 = choose_engine(cat, cat.accelerator("h100-sxm"), "vllm", precision="fp8")
    assert float(fp8.engine.compute_efficiency) == pytest.approx(
        float(row["compute_efficiency_8bit"])
    )
    assert row["compute_efficiency"] == row["compute_efficiency_8bit"]
    assert eng.calibrated
    # every written factor lies inside the physical bounds the catalog enforces on load
    assert all(0 < float(r["bw_efficiency"]) <= 1 for r in written)
    # 4 runs give fewer than 5 held-out values a metric: no band, the built-in ones stay
    assert not (out / "error_bands.csv").exists()
    assert {r["models_fitted"] for r in written if r["id"] == "hopper-vllm"} == {"llama-3.1-70b"}
    # 4 runs in two groups, blackwell/sglang 1 and hopper/vllm 2, each fitting 8 factors:
    # the JSON warns, and says to keep the built-in factors
    assert rep["warnings"][0].startswith(
        "too few runs for the 8 factors a group fits: blackwell/sglang 1, hopper/vllm 2;"
    )
    assert "Keep the built-in factors" in rep["warnings"][0]
    # held-out error after the fit above the built-in factors' error before: warned exactly then
    before = rep["median_abs_error_before"]["all"]
    after = rep["median_abs_error_held_out_by_configuration"]["all"]
    worse = [w for w in rep["warnings"] if "worse than the built-in factors" in w]
    assert len(worse) == (after > before)
    if worse:
        assert f"{after:.1%} held out by configuration against {before:.1%} before" in worse[0]


def test_a_calibration_too_small_for_a_band_says_the_built_in_one_is_shown(tmp_path):
    # the 4 runs of the fixtures give fewer than 5 held-out values for every split and metric
    # (calibrate.bands.band_rows writes none): calibrate says so, and an estimate with the
    # catalog shows the built-in band with a line saying it is not the calibration's, in the
    # text and in --json (it was shown silently)
    out = tmp_path / "cal"
    res = RUN.invoke(
        app,
        ["calibrate", str(FIX / "generic.csv"), str(FIX / "aic_sample.csv"), "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert not (out / "error_bands.csv").exists()
    text = " ".join(res.output.split())
    assert "error bands: none written, fewer than 5 held-out values: configuration " in text
    assert f"an estimate with --catalog {out} shows the built-in band for those" in text
    rep = json.loads(
        RUN.invoke(
            app,
            [
                "calibrate",
                str(FIX / "generic.csv"),
                str(FIX / "aic_sample.csv"),
                "--json",
                "--out",
                str(tmp_path / "cal2"),
            ],
        ).output
    )
    assert rep["error_bands"] and all(
        not b["written"] and b["held_out_values"] < 5 for b in rep["error_bands"]
    )
    assert rep["error_bands_note"].startswith("error bands: none written")

    # Llama 3.1 70B FP8 on H100 with vLLM: the calibration's hopper-vllm row (the fixtures'
    # runs), and the built-in band held out by configuration
    est = [
        "--catalog",
        str(out),
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "h100-sxm",
        "--accelerators",
        "8",
        "--software",
        "vllm",
        "--precision",
        "fp8",
    ]
    d = json.loads(RUN.invoke(app, [*est, "--json"]).output)
    assert d["error_band_source"] == "built-in"
    assert d["error_band_note"] == (
        f"built-in band: your calibration in {out} (efficiency row hopper-vllm) wrote none held "
        "out by configuration (fewer than 5 held-out values), so it is the built-in factors' "
        "held-out error, not that of yours"
    )
    shown = " ".join(RUN.invoke(app, est).output.replace("│", " ").split())
    assert "band source built-in band: your calibration in" in shown


def test_fit_warnings_thresholds():
    from tokenfab.calibrate.run import GroupReport, fit_warnings

    # 8 runs for 8 factors and a held-out error below the built-in one (10 % < 12 %): no warning
    ok = GroupReport("hopper", "vllm", 8, 24, 0.12, 0.10, {})
    assert fit_warnings({"all": 0.12}, {"all": 0.10}, {}, [ok]) == []
    # 7 runs: one warning naming the group; 48.0 % before, 85.5 % after (the new-user case)
    few = GroupReport("blackwell", "trtllm", 7, 7, 0.48, 0.855, {})
    w = fit_warnings({"all": 0.48}, {"all": 0.855}, {"all": 0.9}, [ok, few])
    assert len(w) == 2
    assert "blackwell/trtllm 7;" in w[0] and "hopper/vllm" not in w[0]
    assert "85.5% held out by configuration against 48.0% before" in w[1]
    assert "leave one model family out 90.0%" in w[1]
    assert "(by group: blackwell/trtllm 85.5% against 48.0%)" in w[1]


def test_calibrate_with_nothing_usable_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "model,accelerator,engine,precision,isl,osl,load_size,tpot_s\nllama-3.1-8b,h100-sxm,vllm,fp6,100,10,4,0.01\n"
    )
    res = RUN.invoke(app, ["calibrate", str(bad), "--out", str(tmp_path / "o")])
    # the app raises the one-line error; tokenfab.cli.main prints it and exits 2
    assert isinstance(res.exception, MeasurementFileError)
    assert str(res.exception).startswith("calibrate: none of 1 file gave a usable run")


@pytest.mark.parametrize("text", ["", "model,accelerator,engine,precision,isl,osl,tpot_s\n"])
def test_calibrate_on_a_file_without_runs_says_so(tmp_path, text):
    # an empty file, or a header and no rows, printed "none of 1 file(s) gave a usable run
    # (0 records not used; first: none)": the line now says the file holds no runs, and
    # nothing is written
    empty = tmp_path / "runs.csv"
    empty.write_text(text)
    res = RUN.invoke(app, ["calibrate", str(empty), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, MeasurementFileError)
    assert "runs.csv hold(s) no runs" in str(res.exception)
    assert "first: none" not in str(res.exception)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--accelerator", "foo", "accelerator: 'foo' is not in the accelerator catalog"),
        ("--model", "gpt-17", "model: 'gpt-17' is not in the model catalog"),
        ("--precision", "fp9", "precision: 'fp9' is not a known format; allowed: bf16, fp16"),
        ("--kv-precision", "int4", "kv_precision: 'int4' is not a known KV-cache format"),
    ],
)
def test_an_option_no_record_could_use_is_refused_before_the_files(
    tmp_path, option, value, message
):
    # the rule: a misspelt value is an error, not ignored. Every record of generic.csv names
    # its own model, accelerator and precision, so the option, a fallback for blank fields,
    # was never read and `calibrate generic.csv --accelerator foo` fitted as if it were right;
    # the option is checked first, in the words a record's bad field gets, and nothing is
    # written
    out = tmp_path / "o"
    res = RUN.invoke(app, ["calibrate", str(FIX / "generic.csv"), option, value, "--out", str(out)])
    assert isinstance(res.exception, MeasurementFileError)
    assert str(res.exception).startswith(message)
    assert str(res.exception).endswith(f"(option {option})")
    assert not out.exists()


def test_estimate_reads_the_calibrated_catalog(tmp_path):
    from tokenfab.perf.operating import estimate
    from tokenfab.scenario import Scenario

    out = tmp_path / "cal"
    res = RUN.invoke(app, ["calibrate", str(FIX / "generic.csv"), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    sc = Scenario(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        accelerators=4,
        tensor_parallel=4,  # the layout generic.csv line 2 measured
        precision="fp8",
        software="vllm",
        batch_size=16,
        input_tokens=1024,
        output_tokens=1024,
    )
    mine, builtin = estimate(sc, Catalog([out])), estimate(sc, Catalog())
    # generic.csv line 2 measured TPOT 13.2 ms for this configuration (concurrency 16); the
    # fitted catalog brings the estimate closer to it than the built-in factors do
    assert abs(mine.tpot_s / 0.0132 - 1) < abs(builtin.tpot_s / 0.0132 - 1)


def test_an_unknown_engine_option_is_refused_with_the_allowed_list(tmp_path):
    # --engine foo ran as engine class other (fitted as vLLM's) without a word; one line now
    # names the field, the value and what is allowed, before any file is read
    res = RUN.invoke(app, ["calibrate", str(tmp_path / "m.csv"), "--engine", "foo", "--out", "o"])
    assert str(res.exception) == (
        "engine: 'foo' is not a known serving engine; allowed: trtllm, sglang, vllm (or a "
        "name holding one, such as TensorRT-LLM v1.0), or other (an engine tokenfab does not "
        "model, fitted as vLLM's class)"
    )


def test_a_run_whose_stated_layout_cannot_hold_the_weights_is_named_in_the_warnings(tmp_path):
    # Llama 3.1 405B in BF16 stated at TP 1 on an H100: 405.85e9 parameters x 2 bytes = 812 GB
    # of weights on one accelerator of 80 GiB = 85.9 GB (9.4 x), a run no engine made; it was
    # fitted with no word. It is still fitted as stated (dropping it would move fits of data
    # already in use), and the warnings name it; the 70B at TP 4 (35 GB a GPU) is not named.
    head = "model,accelerator,engine,precision,isl,osl,load,load_size,tp,tpot_s,output_tok_s"
    rows = [
        "llama-3.1-405b,h100-sxm,vllm,bf16,1024,1024,concurrency,16,1,0.0132,1190",
        "llama-3.1-70b,h100-sxm,vllm,bf16,1024,1024,concurrency,16,4,0.0132,1190",
    ]
    f = tmp_path / "runs.csv"
    f.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    res = RUN.invoke(app, ["calibrate", str(f), "--json"])
    assert res.exit_code == 0, res.output
    warnings = json.loads(res.stdout)["warnings"]
    [line] = [w for w in warnings if "cannot hold the model's weights" in w]
    assert line.startswith("1 run states a layout that cannot hold")
    assert "runs.csv:2: llama-3.1-405b in bf16 at TP 1 x PP 1 x EP 1 puts 812 GB" in line
    assert "9.4 x its 85.9 GB" in line
    assert "runs.csv:3" not in line


def test_a_file_of_one_low_precision_rate_writes_a_loadable_row(tmp_path):
    # DeepSeek-V3 FP8 on H200 is block-scaled (models.csv fp8_checkpoint_block 128; H200 has
    # no FP4 units), DeepSeek-R1 FP4 on B200 multiplies at the 4-bit rate: neither group has a
    # 16-bit run, so the required compute_efficiency column takes the group's one fitted rate
    # (it was written as nan, and the catalog refused to load)
    runs = tmp_path / "runs.csv"
    rows = ["model,accelerator,engine,precision,isl,osl,load,load_size,tp,moe_ep,tpot_s"]
    for conc, tpot in ((8, 0.030), (16, 0.034), (32, 0.041), (64, 0.052)):
        rows.append(f"deepseek-v3,h200-sxm,sglang,fp8,1000,1000,concurrency,{conc},8,8,{tpot}")
        rows.append(f"deepseek-r1,b200,sglang,fp4,1000,1000,concurrency,{conc},8,8,{tpot / 2}")
    runs.write_text("\n".join(rows) + "\n")
    out = tmp_path / "cal"
    res = RUN.invoke(app, ["calibrate", str(runs), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    written = {r["id"]: r for r in csv.DictReader((out / "efficiency.csv").open())}
    hopper, blackwell = written["hopper-sglang"], written["blackwell-sglang"]
    assert hopper["compute_efficiency"] == hopper["compute_efficiency_8bit_block"] != ""
    assert blackwell["compute_efficiency"] == blackwell["compute_efficiency_4bit"] != ""
    assert blackwell["compute_efficiency_8bit_block"] == ""  # Blackwell applies block scales
    cat = Catalog([out])  # loads: every efficiency inside (0, 1]
    eng = choose_engine(
        cat, cat.accelerator("h200-sxm"), "sglang", precision="fp8", block_scaled=True
    ).engine
    assert float(eng.compute_efficiency) == pytest.approx(
        float(hopper["compute_efficiency_8bit_block"])
    )


@pytest.mark.parametrize("version", ["abc", "latest", "1", "v"])
def test_an_engine_version_option_without_major_minor_is_refused(tmp_path, version):
    # --engine-version abc fitted every run that states no version as era "unknown" without
    # a word; a version the user types must carry its major.minor (the era)
    res = RUN.invoke(
        app,
        [
            "calibrate",
            str(FIX / "generic.csv"),
            "--engine-version",
            version,
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code != 0
    assert str(res.exception) == (
        f"engine_version: {version!r} has no major.minor; allowed: a version such as 0.11.0, "
        "1.0 or v1.2.0rc6 (leave it out where the version is unknown)"
    )
    assert not (tmp_path / "o").exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("version", "era"), [("0.11.0", "0.11"), ("v1.2.0rc6", "1.2"), ("1.0", "1.0")]
)
def test_an_engine_version_option_with_major_minor_is_the_era_of_runs_without_one(version, era):
    from tokenfab.calibrate.importers import build
    from tokenfab.schema import CalibrateRequest

    req = CalibrateRequest.parse({"files": ["m.csv"], "engine_version": version})
    raw = dict(model="llama-3.1-8b", accelerator="h100-sxm", engine="vllm", precision="bf16")
    raw |= dict(isl=1000, osl=100, load_size=8, tpot_s=0.01)
    # a record without a version of its own takes the option's (importers.build's defaults)
    assert build(raw, "x.csv:2", Catalog(), req.defaults()).era == era
    # a record's own odd version keeps era "unknown": files carry strings like gpt-oss-dev
    assert build({**raw, "engine_version": "gpt-oss-dev"}, "x.csv:2", Catalog()).era == "unknown"
