"""Fuzz the CLI: Hypothesis-generated argument lists must end in a clean exit, a usage error or
a TokenfabError (which ``main`` prints as one line), never any other exception."""

from __future__ import annotations

import warnings

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.core import TyperOption
from typer.testing import CliRunner

from tokenfab.cli import app
from tokenfab.errors import TokenfabError

COMMAND = typer.main.get_command(app)
COMMANDS = set(COMMAND.commands) - {"calibrate", "export-prices", "usage", "serve"}
"""Every command that answers from the catalogs in about a second; catalog through `show`.
(calibrate fits, export-prices prices every model, usage reads logs: tested on their own;
serve runs until interrupted: tests/test_api.py.)"""
WRITES = {"--out", "--write-scenario"}  # given only paths that are refused: the fuzz writes nothing

IDS = ["llama-3.1-8b", "llama-3.1-70b", "deepseek-r1", "h100-sxm", "b200", "a100-sxm-80gb", "us"]
NUMBERS = [
    "0", "-1", "1", "2", "8", "0.5", "1e-300", "1e30", "1e308", "inf", "-inf", "nan", "NaN",
    "9223372036854775808", "-9223372036854775808", "99999999999999999999", "1e6", "0.999999",
]  # fmt: skip
TEXT = ["", " ", "[bold]x[/]", "'^*$'", "[", "é", "x" * 300, "--", "a,b,,", ",", "buy,rent"]
PATHS = ["/dev/urandom", "/dev/null", "/nonexistent/x.yaml", "/", "/tmp"]


def _command(name: str):
    cmd = COMMAND
    for word in name.split():  # "usage report"
        cmd = cmd.commands[word]
    return cmd.commands["show"] if name == "catalog" else cmd


def _options(name: str) -> list[TyperOption]:
    return [p for p in _command(name).params if isinstance(p, TyperOption)]


def _arguments(name: str) -> list[str]:
    cmd = _command(name)
    return (
        [] if name == "catalog" else [p.name for p in cmd.params if not isinstance(p, TyperOption)]
    )


BASE = {  # a valid call of each command, which the fuzz then breaks or extends
    "estimate": ["--model", "llama-3.1-8b", "--accelerator", "h100-sxm"],
    "plan": [
        "--model",
        "llama-3.1-8b",
        "--tokens-per-day",
        "1e9",
        "--accelerator",
        "h100-sxm,b200",
    ],
    "frontier": ["--model", "llama-3.1-8b", "--accelerator", "h100-sxm"],
    "breakeven": ["--model", "llama-3.1-8b", "--accelerator", "h100-sxm", "--region", "us"],
    "factory": ["--power-mw", "100", "--accelerator", "h100-sxm", "--model", "llama-3.1-8b"],
    "route": ["--big", "llama-3.1-70b", "--small", "llama-3.1-8b"],
}


SLOW = {
    "calibrate",
    "export-prices",
    "usage synth",
    "usage params",
    "usage report",
    "usage whatif",
}
"""The commands that read logs or measurements, fit or price many models: fuzzed on their own
with tiny inputs. (catalog import-* write to the user catalog: tests/test_importers.py.)"""
ALWAYS = {"export-prices"}
"""Commands always given their BASE (export-prices with no deployment prices every model)."""
BASE["export-prices"] = ["--format", "litellm", "--deployment", "llama-3.1-8b:h100-sxm"]
BASE["usage whatif"] = ["--api", "gpt-4o-mini"]


def _value(draw, opt: TyperOption) -> str:
    # the option's Python type (typer's descriptor; click's type name on older typer)
    kind = str(getattr(getattr(opt, "type_descriptor", None), "annotation", None))
    kind += str(getattr(getattr(opt, "type", None), "name", ""))
    numbers = st.sampled_from(NUMBERS)
    if "int" in kind:
        typed = st.integers(min_value=-(2**70), max_value=2**70).map(str)
    elif "float" in kind:
        typed = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    else:
        typed = st.sampled_from(IDS + TEXT + PATHS)
    return draw(st.one_of(numbers, typed, typed, st.sampled_from(TEXT), st.text(max_size=12)))


@st.composite
def argv(draw, commands: set[str] | None = None, inputs: tuple[str, ...] = ()) -> list[str]:
    name = draw(st.sampled_from(sorted(commands or COMMANDS)))
    args = name.split()
    if name == "catalog":
        args.append(draw(st.sampled_from([*TEXT, "models", "accelerators", "regions"])))
    for _ in _arguments(name):
        if draw(st.booleans()):
            args.append(draw(st.sampled_from(TEXT + PATHS + list(inputs))))
    if name in ALWAYS or draw(st.booleans()):
        args += BASE.get(name, [])  # later options override these
    options = _options(name)
    for opt in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        flag = opt.opts[0]
        if opt.is_flag:
            args.append(flag)
        elif flag in WRITES:
            args += [flag, draw(st.sampled_from(["/nonexistent/f.html", "", "/"]))]
        else:
            args += [flag, _value(draw, opt)]
    return args


@pytest.mark.filterwarnings("error::RuntimeWarning")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a failure here is reproducible
)
@given(argv())
def test_no_exception_but_tokenfab_errors_escapes_the_cli(args):
    runner = CliRunner()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a NumPy overflow is a bug too
        result = runner.invoke(app, args, catch_exceptions=True)
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit | TokenfabError):
        return
    raise AssertionError(f"tokenfab {' '.join(map(repr, args))} raised {exc!r}") from exc


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory) -> tuple[str, ...]:
    """A 200-request log and a measurement file: each slow command answers in seconds."""
    from pathlib import Path

    from tokenfab.usage.synth import synth

    log = tmp_path_factory.mktemp("fuzz") / "log.jsonl"
    synth(200, log, days=1, seed=1)
    measured = Path(__file__).parent / "fixtures" / "calibrate" / "measured.csv"
    return (str(log), str(measured))


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_no_exception_but_tokenfab_errors_escapes_the_slow_commands(tiny_inputs):
    # usage, export-prices and calibrate, fed a tiny log and a tiny measurement file
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=True,
    )
    @given(argv(SLOW, tiny_inputs))
    def run(args: list[str]) -> None:
        test_no_exception_but_tokenfab_errors_escapes_the_cli.hypothesis.inner_test(args)

    run()
