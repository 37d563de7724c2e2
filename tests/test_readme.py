"""README.md: every figure it quotes is regenerated and compared (docs/readme.py), and its
Python and shell commands run as written."""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "tokenfab_docs_readme", ROOT / "docs" / "readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated() -> str:
    # Runs every command the generated blocks show (each must exit 0) and reads the long-fit
    # figures from the stored results.
    return _generator().render(README.read_text(encoding="utf-8"))


def test_readme_figures_are_current(regenerated):
    # a stale figure fails here until `make docs` rewrites it
    gen = _generator()
    old = README.read_text(encoding="utf-8")
    assert {m["name"] for m in gen.BLOCK.finditer(old)} == set(gen.BLOCKS)
    new = regenerated
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), n=0))
    assert new == old, f"README.md is stale; run `make docs`:\n{diff}"


def test_a_stale_figure_is_caught(regenerated):
    # break one figure (the 8B TPOT the README once quoted): the regenerated text differs.
    # Generated blocks depend only on the code, so regenerating `broken` gives `regenerated`.
    old = README.read_text(encoding="utf-8")
    broken = re.sub(r'"tpot_s": [0-9.e-]+', '"tpot_s": 0.0085', old, count=1)
    assert broken != old
    assert regenerated != broken


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_every_shell_command_in_the_readme_is_generated_or_make():
    # commands outside generated blocks are not run by the test, so only `make` and set-up
    # lines may live there
    gen = _generator()
    text = gen.BLOCK.sub("", README.read_text(encoding="utf-8"))
    for block in re.findall(r"```(?:sh|text)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            assert not line.lstrip("$ ").startswith("tokenfab"), line


def test_the_readme_names_every_example_scenario():
    # README said examples/ has "four to start from ... and one that spells out its uncertain
    # inputs": five, beside six files (the projection example, the one `tokenfab project`
    # reads, went unmentioned). Each file's kind must be named in that sentence, and a new
    # example fails here until the README says what it is for.
    kinds = {
        "chat-llama-70b-h100.yaml": "chat",
        "reasoning-deepseek-r1-h200.yaml": "reasoning",
        "coding-agent-gpt-oss-b200.yaml": "coding agent",
        "batch-llama-8b-mi300x.yaml": "offline batch",
        "uncertainty-chat-llama-70b-h100.yaml": "uncertain inputs",
        "projection-llama-70b-h100.yaml": "`projection:` block",
    }
    assert {p.name for p in (ROOT / "examples").glob("*.yaml")} == set(kinds)
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = text.split("Scenarios can live in YAML files;")[1].split("flags override")[0]
    for name, kind in kinds.items():
        assert kind in sentence, (name, kind)


def test_the_readme_says_which_commands_are_endpoints():
    # README said "Every command is an endpoint under /api/v1/", but calibrate, export-prices,
    # usage and scenario new are not (they read or write files of yours). Every CLI command is
    # now either an operation the API serves (named in the paragraph), one of its own routes
    # (report, catalog; serve runs it), or named CLI-only there.
    import typer

    from tokenfab import operations
    from tokenfab.cli import app

    text = " ".join(README.read_text(encoding="utf-8").split())
    paragraph = text.split("### The HTTP API")[1].split("Bad input is a 422")[0]
    served = {n for n in operations.OPERATIONS if n != "catalog"}
    for name in served:
        assert f"`{name}`" in paragraph or f"/api/v1/{name}`" in paragraph, name
    commands = {c.name for c in typer.main.get_command(app).commands.values()}
    cli_only = paragraph.split("are CLI-only")[0].rsplit("(", 1)[1]
    for name in commands - served - {"report", "catalog", "serve"}:
        assert f"`{name}" in cli_only, name
