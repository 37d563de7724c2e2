"""Bad input through the installed CLI: one line on stderr, a non-zero exit, nothing on stdout,
and no NumPy warning or traceback; output checks happen before any work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tokenfab import cli

TOKENFAB = [sys.executable, "-c", "from tokenfab.cli import main; main()"]
EST = ["estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TOKENFAB, *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr  # no warning lines, no traceback
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        (
            "--tokens-per-day",
            "inf",
            "tokens_per_day: inf is not a finite number; allowed: 1 to 1e+16",
        ),
        ("--tokens-per-day", "1e30", "tokens_per_day: 1e+30 is out of range; allowed: 1 to 1e+16"),
        ("--tokens-per-day", "1e-300", "tokens_per_day: 1e-300 is out of range"),
        ("--ttft-slo-s", "nan", "ttft_slo_s: nan is not a finite number"),
        (
            "--accelerators",
            "99999999999999999999",
            "accelerators: 99999999999999999999 is out of range",
        ),
        ("--utilization", "1e-300", "utilization: 1e-300 is out of range; allowed: 0.001 to 1"),
    ],
)
def test_a_number_out_of_range_is_one_line(flag, value, expected):
    # before: "-9223372036854775808 x H100", exit 0, RuntimeWarnings with source paths
    assert expected in one_line_error(run(*EST, flag, value))


def test_rich_markup_in_an_error_is_printed_as_typed():
    # an id like "[bold]x[/]" was eaten by Rich markup and printed as "x"
    line = one_line_error(run("catalog", "[bold]x[/]"))
    assert "'[bold]x[/]'" in line


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("model: x\n".encode("utf-16"), "scenario file is UTF-16 text; save it as UTF-8"),
        (b"model: \xe9\n", "scenario file is not UTF-8 text"),
        (b"\x00\x01\x02", "scenario file is binary"),
        (b'a: &a ["x","x"]\nb: [*a,*a]\n', "YAML aliases (*name) are not allowed"),
        (b"# pad\n" * 200_000, "scenario file is larger than the 1.0 MB limit"),
    ],
    ids=["utf16", "latin1", "binary", "alias", "too-large"],
)
def test_a_bad_scenario_file_is_one_line_naming_it(tmp_path, content, problem):
    p = tmp_path / "s.yaml"
    p.write_bytes(content)
    line = one_line_error(run("estimate", "--scenario", str(p)))
    assert str(p) in line and problem in line


def test_dev_urandom_as_a_scenario_is_refused_at_once():
    line = one_line_error(run("estimate", "--scenario", "/dev/urandom"))
    assert "/dev/urandom: not a regular file" in line


@pytest.mark.parametrize(
    ("out", "problem"),
    [("missing/f.html", "folder missing does not exist"), (".", "is a folder")],
)
@pytest.mark.parametrize("command", ["frontier", "breakeven"])
def test_out_is_checked_before_any_work(tmp_path, command, out, problem):
    args = ["--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]
    if command == "breakeven":
        args += ["--region", "us"]
    line = one_line_error(run(command, *args, "--out", out, cwd=tmp_path))  # nothing printed
    assert problem in line


def test_json_is_pure_and_has_the_same_keys_for_buy_and_rent():
    keys = []
    for ownership in ("buy", "rent"):
        r = run(*EST, "--ownership", ownership, "--json")
        assert r.returncode == 0, r.stderr
        data = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
        keys.append(list(data))
    assert keys[0] == keys[1]


def test_plan_json_rows_share_one_schema():
    r = run("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--json")
    rows = json.loads(r.stdout)["options"]
    assert {x["feasible"] for x in rows} == {True, False}  # both kinds are present
    assert len({tuple(x) for x in rows}) == 1


def test_an_unexpected_exception_is_a_one_line_bug_report(monkeypatch, capsys):
    def boom(*_a, **_k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == cli.BUG_EXIT_CODE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("bug: ZeroDivisionError: division by zero at test_cli_input.py:")


@pytest.mark.parametrize("ids", [",,,", " , "])
def test_a_list_flag_naming_no_id_is_refused(ids):
    # ",,," was read as "no list given", so `plan` silently searched every accelerator
    line = one_line_error(
        run("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--accelerator", ids)
    )
    assert "accelerator: " in line and "names no id" in line


def test_plan_refuses_an_unknown_ownership():
    line = one_line_error(
        run("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--ownership", "lease")
    )
    assert line == "error: ownership: 'lease' is not allowed; allowed: buy, rent"


def test_a_demand_file_is_read_bounded():
    line = one_line_error(run("demand", "/dev/urandom"))
    assert line == "error: /dev/urandom: not a regular file (a device); give a demand file"


def test_an_import_of_deeply_nested_json_is_one_line(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("[" * 100_000)  # json.loads recursed past Python's limit: RecursionError
    line = one_line_error(run("catalog", "import-model", str(p)))
    assert line == f"error: {p}: JSON nested too deeply to be a price list or config"


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["calibrate"], "measurement file"),
        (["catalog", "import-prices", "--format", "litellm", "--as-of", "2026-01-01"], "JSON file"),
    ],
)
def test_other_input_files_are_read_bounded(args, what):
    line = one_line_error(run(*args, "/dev/urandom"))
    assert line == f"error: /dev/urandom: not a regular file (a device); give a {what}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["estimate", "--model"], "error: Option '--model' requires an argument"),
        (["estimate", "--bogus"], "error: No such option: --bogus"),
    ],
)
def test_a_usage_error_is_one_line_not_a_panel(args, expected):
    line = one_line_error(run(*args))
    assert line.startswith(expected) and line.endswith(" --help`)")


@pytest.mark.parametrize(
    "args",
    [
        ("route", "--big", "nope"),
        ("viability", "--api-price", "nope", "--revenue-per-request", "1"),
    ],
)
def test_an_unknown_api_price_with_nothing_near_says_where_to_look(args):
    # once "unknown API price 'nope'; nearest: " with nothing after the colon
    line = one_line_error(run(*args))
    assert line.endswith("unknown API price 'nope'; list them with `tokenfab catalog api-prices`")


def test_an_echoed_input_is_not_turned_into_an_emoji():
    # Rich read ":b:" in "a:b:c:d:e" as an emoji code and printed 'a\U0001f171c:d:e'
    line = one_line_error(run("export-prices", "--format", "litellm", "--deployment", "a:b:c:d:e"))
    assert "'a:b:c:d:e' is not MODEL:ACCELERATOR" in line


@pytest.mark.parametrize("value", ["nan", "0.5", "1e30"])
def test_export_prices_demand_out_of_range_is_an_error_not_an_empty_map(value):
    # each once left every model out and printed {} with exit 0
    line = one_line_error(run("export-prices", "--format", "litellm", "--tokens-per-day", value))
    assert line.startswith("error: tokens_per_day: ")  # the field, as in every command
    assert line.endswith("; allowed: 1 to 1e+16")  # nan: "is not a finite number"


def test_frontier_refuses_an_unknown_software_licence():
    # frontier once dropped a mistyped licence silently (exit 0)
    line = one_line_error(
        run(
            "frontier",
            "--model",
            "llama-3.1-8b",
            "--accelerator",
            "h100-sxm",
            "--software-licence",
            "nvidia-ai-enterprize",
        )
    )
    # the option's field first (it once named the catalog, "licences: unknown id ...")
    assert line.startswith("error: software_licence: unknown id 'nvidia-ai-enterprize' in ")
    assert "`tokenfab catalog licences`" in line


@pytest.mark.parametrize("command", ["estimate", "project", "montecarlo", "breakeven"])
def test_a_licence_that_does_not_apply_is_refused_by_every_scenario_command(tmp_path, command):
    # software_licences.csv: nvidia-ai-enterprise covers NVIDIA data-centre GPUs only; on an
    # MI300X it was accepted and shown as "not charged" (exit 0). No other licence in the
    # catalog covers the MI300X, so none is allowed there
    (tmp_path / "s.yaml").write_text(
        "model: llama-3.1-8b\naccelerator: mi300x\ntokens_per_day: 1.0e+8\n"
        "software_licence: nvidia-ai-enterprise\n"
    )
    path = str(tmp_path / "s.yaml")  # project and montecarlo take the file as an argument
    args = [path] if command in ("project", "montecarlo") else ["--scenario", path]
    line = one_line_error(run(command, *args))
    assert line == (
        "error: software_licence: nvidia-ai-enterprise (NVIDIA) does not apply to mi300x (AMD); "
        "allowed on mi300x: none (leave software_licence unset: open-source engines need no "
        "licence)"
    )


def test_a_scenario_file_without_model_or_accelerator_takes_them_from_the_options(tmp_path):
    # README: "flags override the file"; a file that leaves out model or accelerator and the
    # options that give them was refused with "model: Field required". Now the options fill
    # the required fields the file leaves out, and the estimate equals the one from options
    # alone (tokens_per_day from the file: 1e9 output tokens a day)
    (tmp_path / "demand.yaml").write_text("tokens_per_day: 1e9\n")
    r = run(*EST, "--scenario", "demand.yaml", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    alone = run(*EST, "--tokens-per-day", "1e9", "--json")
    same = ("accelerators_needed", "cost_usd_per_mtok_output", "ttft_s", "tpot_s")
    a, b = json.loads(r.stdout), json.loads(alone.stdout)
    assert {k: a[k] for k in same} == {k: b[k] for k in same}
    # still refused without them, naming the file; a bad option is the option's, not the file's
    line = one_line_error(run("estimate", "--scenario", "demand.yaml", cwd=tmp_path))
    assert line == "error: demand.yaml: model: required (not given)"
    line = one_line_error(run(*EST, "--scenario", "demand.yaml", "--batch", "-5", cwd=tmp_path))
    assert line.startswith("error: batch_size: -5 is out of range")


@pytest.mark.parametrize("command", ["estimate", "montecarlo"])
def test_a_demand_option_overrides_the_files_demand_in_its_other_unit(tmp_path, command):
    # README: "flags override the file". A file with tokens_per_day and the option
    # --requests-per-second 2 (the same demand stated per second) was refused as "give either
    # tokens_per_day or requests_per_second, not both", though the user gave one of each
    # place; the option is the demand now, and equals the estimate from options alone
    (tmp_path / "s.yaml").write_text("tokens_per_day: 1.0e+9\n")
    args = ("--scenario", "s.yaml") if command == "estimate" else ("s.yaml", "--samples", "4")
    opts = [*EST[1:], "--requests-per-second", "2", "--json"]
    r = run(command, *args, *opts, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    if command == "estimate":
        # the option's demand, 2 requests/s x 1,000 output tokens x 86,400 s = 1.728e8 output
        # tokens a day, not the file's 1e9: the estimate of the options alone
        same = ("accelerators", "monthly_cost_usd", "cost_usd_per_mtok_output", "ttft_s")
        alone = json.loads(run("estimate", *opts).stdout)
        got = json.loads(r.stdout)
        assert {k: got[k] for k in same} == {k: alone[k] for k in same}
        file_only = json.loads(run(command, *args, *EST[1:], "--json", cwd=tmp_path).stdout)
        assert file_only["monthly_cost_usd"] != got["monthly_cost_usd"]
    # both given as options stays an error: the user stated the demand twice
    line = one_line_error(run(*EST, "--tokens-per-day", "1e9", "--requests-per-second", "2"))
    assert line.startswith("error: tokens_per_day: give either tokens_per_day or")


@pytest.mark.parametrize("command", ["estimate", "montecarlo"])
def test_a_files_field_refused_beside_an_option_is_named_with_its_line(tmp_path, command):
    # rental_term is on line 4 of the file; --ownership buy makes it meaningless. The line
    # read "rental_term: ...; give ownership: rent too, or drop rental_term" as of an option
    # the user never typed: it now starts with the file and line, as the file's own errors do
    (tmp_path / "rent.yaml").write_text(
        "model: llama-3.1-8b\naccelerator: h100-sxm\nownership: rent\nrental_term: reserved\n"
    )
    args = ("--scenario", "rent.yaml") if command == "estimate" else ("rent.yaml",)
    line = one_line_error(run(command, *args, "--ownership", "buy", cwd=tmp_path))
    assert line.startswith("error: rent.yaml:4: rental_term: reserved prices a rented")
    # the same field given as the option is the option's, with no file named
    line = one_line_error(run(*EST, "--rental-term", "reserved", "--ownership", "buy"))
    assert line.startswith("error: rental_term: reserved prices a rented")


@pytest.mark.parametrize("command", ["estimate", "montecarlo"])
def test_an_options_clash_with_a_files_field_names_the_files_line(tmp_path, command):
    # --concurrency 8 on the command line, batch_size on line 3 of the file: the line said
    # "drop batch_size" with no word of where it was set. The field to drop is the file's,
    # so its file:line follows it
    (tmp_path / "b.yaml").write_text("model: llama-3.1-8b\naccelerator: h100-sxm\nbatch_size: 32\n")
    args = ("--scenario", "b.yaml") if command == "estimate" else ("b.yaml",)
    line = one_line_error(run(command, *args, "--concurrency", "8", cwd=tmp_path))
    assert line.startswith("error: concurrency: closed-loop clients set the batch")
    assert line.endswith("drop batch_size (b.yaml:3)")
    # of two alternatives only the one in the file (line 3) is placed
    (tmp_path / "d.yaml").write_text(
        "model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: 1e9\n"
    )
    args = ("--scenario", "d.yaml") if command == "estimate" else ("d.yaml",)
    line = one_line_error(run(command, *args, "--concurrency", "8", cwd=tmp_path))
    assert line.endswith("drop tokens_per_day or requests_per_second (tokens_per_day at d.yaml:3)")
    # --utilization beside the file's demand: the demand to drop is named with its line
    line = one_line_error(run(command, *args, "--utilization", "0.5", cwd=tmp_path))
    assert line.endswith(
        "drop utilization, or drop tokens_per_day or requests_per_second (tokens_per_day at "
        "d.yaml:3) to set it yourself"
    )


def test_a_report_to_a_pdf_without_pdf_says_to_give_pdf(tmp_path):
    # README: "`--out report.pdf --pdf` the same as a PDF"; --out report.pdf alone was refused
    # as "writes .html or .htm files" with no word of --pdf
    line = one_line_error(run("report", *EST[1:], "--out", "r.pdf", cwd=tmp_path))
    assert line == "error: --out r.pdf: a PDF needs --pdf; without it the report is HTML"
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        # nan fails every comparison, so a range check alone said "should be <= 1 (got nan)"
        ("--success-small", "success_small: nan is not a finite number; allowed: "),
        ("--routed-share", "routed_share: nan is not a finite number; allowed: "),
    ],
)
def test_route_nan_share_is_named_not_a_finite_number(flag, expected):
    line = one_line_error(run("route", flag, "nan"))
    assert line.startswith("error: " + expected), line
    assert line.endswith("less than or equal to 1") or line.endswith("0 to 1"), line


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_nested_field_that_is_not_finite_states_its_range(value):
    # input: factory --mix gb300:nan,h100-sxm:0.5. Expected: the share's declared range
    # (FactoryMixEntry.share: gt=0, le=1) after the fault, as every top-level field gives it;
    # it once said only "mix.0.share: nan is not a finite number"
    line = one_line_error(run("factory", "--mix", f"gb300:{value},h100-sxm:0.5"))
    assert line == f"error: mix.0.share: {value} is not a finite number; allowed: above 0 to 1"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # the parser kept the last value: this estimated llama-3.1-70b without a word
        ((*EST, "--model", "llama-3.1-70b"), "model: --model given more than once"),
        # an alias is the same option: --batch 1 --batch-size 2 ran batch 2
        ((*EST, "--batch", "1", "--batch-size", "2"), "batch_size: --batch-size/--batch given"),
        (("serve", "--port", "8001", "--port", "8002"), "port: --port given more than once"),
    ],
)
def test_a_single_valued_option_given_twice_is_refused(args, expected):
    assert expected in one_line_error(run(*args))


def test_list_options_and_flags_may_repeat():
    # --accelerator is a list (a,b or repeated) and --json a flag: both stay accepted;
    # the plan's table lists exactly the two accelerators asked for
    r = run(
        "plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--region", "us",
        "--accelerator", "h100-sxm", "--accelerator", "b200", "--json", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    options = json.loads(r.stdout)["options"]
    assert {o["accelerator"] for o in options} == {"h100-sxm", "b200"}


@pytest.mark.parametrize(
    ("args", "dropped"),
    [
        (("market", "--list", "--scenario", "jevons"), "--scenario"),
        (("market", "--list", "--out", "m.html"), "--out"),
        (("route", "--list", "--study", "routellm-mt-bench"), "--study"),
        (("demand", "--list", "mix.yaml"), "FILE"),
        (("demand", "--list", "--write-scenario", "s.yaml"), "--write-scenario"),
    ],
)
def test_an_option_beside_list_is_refused_not_ignored(args, dropped):
    # --list shows the choices and exits: `market --list --scenario jevons` listed every
    # scenario and dropped --scenario without a word. Each such option is now one line
    line = one_line_error(run(*args))
    assert line == (
        f"error: --list: shows the choices and exits; {dropped} does nothing with it, "
        f"drop {dropped} or --list"
    )
    # --json is how the list is printed, so it stays allowed
    assert run(args[0], "--list", "--json").returncode == 0


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("years: 0", "projection.years: 0 is out of range; allowed: 1 to 30"),
        ("yeers: 3", "projection.yeers: not a field here (got 3); check the spelling"),
        ("demand_growth_per_year: -2", "projection.demand_growth_per_year: -2 is out of range"),
    ],
)
@pytest.mark.parametrize("command", ["estimate", "montecarlo"])
def test_a_bad_projection_block_is_refused_as_a_bad_distributions_block_is(
    tmp_path, command, entry, problem
):
    # estimate ran on a file whose projection: block was wrong (years: 0) without a word,
    # while the same fault in a distributions: block was refused. The block's field sits on
    # line 5 (model, accelerator, tokens_per_day, projection:, then the field)
    head = "model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: 1e9\nprojection:\n"
    (tmp_path / "p.yaml").write_text(head + f"  {entry}\n")
    args = ("--scenario", "p.yaml") if command == "estimate" else ("p.yaml",)
    assert one_line_error(run(command, *args, cwd=tmp_path)).startswith(
        f"error: p.yaml:5: {problem}"
    )


# -- an unknown id names the option that gave it -------------------------------------------
# The line named the catalog ("models: unknown id 'nosuch' ..."), a word the user never typed;
# it names the option's field now, as every other bad value does, and how to list the ids.

EXAMPLE_PROJECTION = Path(__file__).parents[1] / "examples" / "projection-llama-70b-h100.yaml"
FACTORY = ["factory", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]


@pytest.mark.parametrize(
    ("args", "field", "value", "table"),
    [
        (
            ["estimate", "--model", "nosuch", "--accelerator", "h100-sxm"],
            "model",
            "nosuch",
            "models",
        ),
        ([*EST, "--region", "mars"], "region", "mars", "regions"),
        ([*EST, "--workload", "nosuch"], "workload", "nosuch", "workloads"),
        ([*EST, "--prefill-accelerator", "b2000"], "prefill_accelerator", "b2000", "accelerators"),
        ([*EST, "--software-licence", "nosuch"], "software_licence", "nosuch", "licences"),
        (
            ["frontier", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm,b2000"],
            "accelerator",
            "b2000",
            "accelerators",
        ),
        (
            ["plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e8", "--region", "us,mars"],
            "region",
            "mars",
            "regions",
        ),
        (
            [*FACTORY, "--decode-accelerator", "b2000"],
            "decode_accelerator",
            "b2000",
            "accelerators",
        ),
        (["market", "--energy-model", "nosuch"], "energy_model", "nosuch", "models"),
        (["montecarlo", *EST[1:], "--region", "mars"], "region", "mars", "regions"),
        (  # the projection block's field, as a bad value there is named
            ["project", str(EXAMPLE_PROJECTION), "--successor", "b2000"],
            "projection.successor",
            "b2000",
            "accelerators",
        ),
    ],
)
def test_an_unknown_id_names_the_option(args, field, value, table):
    line = one_line_error(run(*args))
    assert line.startswith(f"error: {field}: unknown id {value!r} in "), line
    assert line.endswith(f"(list them with `tokenfab catalog {table}`)"), line


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "--scenario"],  # an option
        ["montecarlo"],  # an argument, read with its distributions: block
        ["project"],  # read by the operation itself
    ],
)
def test_an_unknown_id_in_a_scenario_file_names_its_line(tmp_path, args):
    # the file's field, with the file and line, as the file's other bad values are named
    scenario = tmp_path / "s.yaml"
    scenario.write_text("accelerator: h100-sxm\nmodel: llama-3.1-8bx\ntokens_per_day: 1e9\n")
    line = one_line_error(run(*args, str(scenario)))
    assert line.startswith(f"error: {scenario}:2: model: unknown id 'llama-3.1-8bx' in models; ")
    assert "did you mean: llama-3.1-8b" in line


# -- a comma-separated list refuses an empty item --------------------------------------------
# `frontier --accelerator h100-sxm,,b200` compared the two and dropped the empty item without
# a word: an id left out (an unset shell variable, a typo) is refused, naming the option.


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["frontier", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm,,b200"],
            "accelerator: an empty item in 'h100-sxm,,b200'; give comma-separated ids, none empty",
        ),
        (  # a trailing comma is an empty item too
            ["frontier", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm,"],
            "accelerator: an empty item in 'h100-sxm,'; give comma-separated ids, none empty",
        ),
        (  # a repeated option is joined with commas: an empty one is an empty item
            [
                "frontier",
                "--model",
                "llama-3.1-8b",
                "--accelerator",
                "h100-sxm",
                "--accelerator",
                "",
            ],
            "accelerator: an empty item in 'h100-sxm,'; give comma-separated ids, none empty",
        ),
        (
            [
                "plan",
                "--model",
                "llama-3.1-8b",
                "--tokens-per-day",
                "1e8",
                "--ownership",
                "buy,,rent",
            ],
            "ownership: an empty item in 'buy,,rent'; give comma-separated values, none empty; "
            "allowed: buy, rent",
        ),
        (
            [*FACTORY, "--shares", "free=0.5,,premium=0.5"],
            "shares: an empty item; give comma-separated tier=share entries, none empty",
        ),
        (
            ["demand", "--archetypes", "chat=100,,rag=5"],
            "archetypes: an empty item; give comma-separated archetype=users entries, none empty",
        ),
        (
            ["usage", "whatif", "log.jsonl", "--api", "gpt-4o,,gpt-4o-mini"],
            "api: an empty item in 'gpt-4o,,gpt-4o-mini'; give comma-separated ids, none empty",
        ),
    ],
)
def test_a_comma_list_with_an_empty_item_is_refused(args, expected, tmp_path):
    line = one_line_error(run(*args, cwd=tmp_path))
    assert line.startswith(f"error: {expected}"), line


def test_an_engine_version_without_major_minor_is_one_line(tmp_path):
    # calibrate --engine-version abc fitted as era "unknown" without a word
    fixture = Path(__file__).parent / "fixtures" / "calibrate" / "generic.csv"
    line = one_line_error(run("calibrate", str(fixture), "--engine-version", "abc", cwd=tmp_path))
    assert line == (
        "error: engine_version: 'abc' has no major.minor; allowed: a version such as 0.11.0, "
        "1.0 or v1.2.0rc6 (leave it out where the version is unknown)"
    )
    assert not list(tmp_path.iterdir())
