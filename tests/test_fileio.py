"""Bounded file reading, safe YAML, output-path checks and strict JSON: one test per bad kind."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import pytest

from tokenfab.catalog import Accelerator, Region, builtin_dir, read_records
from tokenfab.errors import CatalogError, FileInputError
from tokenfab.fileio import (
    check_output_folder,
    check_output_path,
    json_text,
    load_yaml,
    read_text,
)

CAP = 1000  # bytes, small so the tests stay small


def write(tmp_path: Path, data: bytes, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_a_valid_utf8_file_is_read(tmp_path):
    p = write(tmp_path, "model: llama\nregion: eu  # café\n".encode())
    assert read_text(p, what="scenario file", max_bytes=CAP).endswith("café\n")


def test_a_utf8_byte_order_mark_is_dropped(tmp_path):
    p = write(tmp_path, b"\xef\xbb\xbfmodel: x\n")
    assert read_text(p, what="scenario file", max_bytes=CAP) == "model: x\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("model: x\n".encode("utf-16"), "UTF-16"),  # starts with the UTF-16 byte-order mark
        (b"model: \xe9t\xe9\n", "not UTF-8 text (byte 0xe9 at offset 7)"),  # Latin-1 é
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary (holds NUL bytes)"),
    ],
    ids=["utf16", "latin1", "binary"],
)
def test_text_that_is_not_utf8_is_named(tmp_path, data, problem):
    p = write(tmp_path, data)
    with pytest.raises(FileInputError, match=r"^\S+s\.yaml(:\d+)?: ") as exc:
        read_text(p, what="scenario file", max_bytes=CAP)
    assert problem in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_file_over_the_cap_is_refused_by_its_size(tmp_path):
    p = write(tmp_path, b"a" * (CAP + 1))
    with pytest.raises(FileInputError, match=r"larger than the 1\.0 kB limit \(1\.0 kB\)"):
        read_text(p, what="scenario file", max_bytes=CAP)


def test_a_file_at_the_cap_is_read(tmp_path):
    p = write(tmp_path, b"a" * CAP)
    assert len(read_text(p, what="scenario file", max_bytes=CAP)) == CAP


@pytest.mark.parametrize("device", ["/dev/urandom", "/dev/zero"])
def test_a_device_is_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} not on this system")
    t0 = time.perf_counter()
    with pytest.raises(FileInputError, match=f"^{device}: not a regular file"):
        read_text(device, what="scenario file", max_bytes=CAP)
    assert time.perf_counter() - t0 < 1.0  # refused from its type, not after a read


def test_a_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(FileInputError, match=r"not a regular file \(a pipe\)"):
        read_text(fifo, what="scenario file", max_bytes=CAP)


def test_a_folder_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(FileInputError, match="is a folder"):
        read_text(tmp_path, what="scenario file", max_bytes=CAP)
    with pytest.raises(FileInputError, match=r"nope\.yaml: no such scenario file"):
        read_text(tmp_path / "nope.yaml", what="scenario file", max_bytes=CAP)


def test_yaml_aliases_are_refused():
    # the "billion laughs": nine levels of nine aliases expand to 9**9 items
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    t0 = time.perf_counter()
    with pytest.raises(FileInputError, match=r"^bomb\.yaml:2: YAML aliases"):
        load_yaml(bomb, "bomb.yaml")
    assert time.perf_counter() - t0 < 1.0


def test_deep_yaml_nesting_is_refused():
    with pytest.raises(FileInputError, match="nested deeper than 50 levels"):
        load_yaml("[" * 10_000, "deep.yaml")


def test_invalid_yaml_names_file_and_line():
    with pytest.raises(FileInputError, match=r"^s\.yaml:2: not valid YAML"):
        load_yaml("model: x\n  bad: [\n", "s.yaml")


def test_output_path_checks(tmp_path):
    assert check_output_path(tmp_path / "chart.html") == tmp_path / "chart.html"
    assert not (tmp_path / "chart.html").exists()  # the probe leaves nothing behind
    with pytest.raises(FileInputError, match="empty path"):
        check_output_path("")
    with pytest.raises(FileInputError, match=r"folder \S+missing does not exist"):
        check_output_path(tmp_path / "missing" / "chart.html")
    with pytest.raises(FileInputError, match="is a folder"):
        check_output_path(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileInputError, match=r"file is not a folder"):
        check_output_path(tmp_path / "file" / "chart.html")


def test_an_existing_output_file_is_kept_by_the_check(tmp_path):
    p = tmp_path / "chart.html"
    p.write_text("old")
    check_output_path(p)
    assert p.read_text() == "old"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_an_unwritable_output_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(FileInputError, match="cannot write"):
            check_output_path(ro / "chart.html")
    finally:
        ro.chmod(0o700)


def test_json_text_is_strict_and_names_each_null():
    data = {"a": float("inf"), "b": [1.0, float("nan")], "c": {"d": float("-inf"), "e": 2}}
    text = json_text(data)
    back = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}"))
    assert back["a"] is None and back["b"] == [1.0, None] and back["c"]["d"] is None
    assert back["null_reasons"] == {"a": "not a finite number (infinite)"}
    assert back["c"]["null_reasons"] == {"d": "not a finite number (infinite)"}


def test_a_catalog_file_in_utf16_is_a_catalog_error(tmp_path):
    p = write(tmp_path, "id,vendor\nx,y\n".encode("utf-16"), "accelerators.csv")
    with pytest.raises(CatalogError, match=r"accelerators\.csv: catalog file is UTF-16"):
        read_records(p, Accelerator)


def test_a_catalog_number_that_is_not_finite_is_refused(tmp_path):
    lines = (builtin_dir() / "regions.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    i = header.index("pue")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    rows[1][i] = "inf"  # break one field of the first row
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[:2])
    p = write(tmp_path, buf.getvalue().encode(), "regions.csv")
    with pytest.raises(CatalogError, match=r"regions\.csv:2: pue: .*finite"):
        read_records(p, Region)


def test_a_chart_output_of_another_file_type_is_refused(tmp_path):
    # a chart is written as .html with a .png beside it; `--out x.txt` used to write x.html
    from tokenfab.fileio import CHART_SUFFIXES, check_output_path

    with pytest.raises(FileInputError, match=r"writes \.html or \.png files; got \.txt"):
        check_output_path(tmp_path / "x.txt", suffixes=CHART_SUFFIXES)
    assert check_output_path(tmp_path / "x.PNG", suffixes=CHART_SUFFIXES) == tmp_path / "x.PNG"
    assert not (tmp_path / "x.txt").exists()


# -- nothing half-written ------------------------------------------------------------------------


def test_an_interrupted_synth_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    # Ctrl-C after the first chunk: the log being written is removed, an older log stays
    from tokenfab.usage import synth as sy

    monkeypatch.setattr(sy, "CHUNK_ROWS", 100)
    real_chunk, calls = sy._chunk, []

    def chunk_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(sy, "_chunk", chunk_then_interrupt)
    for kind in (".parquet", ".csv", ".jsonl"):
        calls.clear()
        fresh = tmp_path / f"fresh{kind}"
        with pytest.raises(KeyboardInterrupt):
            sy.synth(300, fresh)
        assert not fresh.exists()
        old = tmp_path / f"old{kind}"
        old.write_text("the previous log\n")
        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            sy.synth(300, old)
        assert old.read_text() == "the previous log\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv", "old.jsonl", "old.parquet"]


def test_atomic_output_keeps_the_permissions_a_plain_write_gives(tmp_path):
    import os
    import stat

    from tokenfab.fileio import write_text_atomic

    umask = os.umask(0o022)
    try:
        p = write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644  # 0666 less the umask 022


@pytest.mark.parametrize(
    "args",
    [
        ["frontier", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm", "--out", ""],
        ["usage", "synth", "--rows", "10", "--out", ""],
        ["export-prices", "--format", "litellm", "--out", ""],
        ["demand", "--archetype", "chat", "--users", "10", "--write-scenario", ""],
        ["calibrate", "x.csv", "--out", " "],
    ],
)
def test_an_empty_out_is_called_empty_not_a_folder(args):
    from typer.testing import CliRunner

    from tokenfab.cli import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code != 0
    assert "empty path" in str(r.exception) and "folder" not in str(r.exception).split(";")[0]


def test_every_file_writer_in_the_package_writes_through_a_temporary_file():
    # a writer of an --out file fills the temporary path atomic_output gives (named tmp) or
    # calls write_text_atomic: no command leaves half a file behind (buf: an in-memory image)
    import re

    src = Path(__file__).resolve().parents[1] / "src" / "tokenfab"
    call = re.compile(r"(\w+)\.(write_text|write_bytes|write_html|savefig)\(\s*(str\()?(\w*)")
    direct = []
    for path in sorted(src.rglob("*.py")):
        if path.name == "fileio.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in call.finditer(line):
                obj, method, _, arg = m.groups()
                target = obj if method in ("write_text", "write_bytes") else arg
                if target not in ("tmp", "buf", "sys"):
                    direct.append(f"{path.relative_to(src)}:{n}: {line.strip()}")
    assert not direct


# -- the rule for every --out writer: a missing parent folder is refused, never created --------


def test_output_folder_checks(tmp_path):
    # a catalog folder (calibrate --out, --catalog for the importers) may be new; its parent
    # must exist, as for an --out file (check_output_path)
    assert check_output_folder(tmp_path / "new-catalog") == tmp_path / "new-catalog"
    assert not (tmp_path / "new-catalog").exists()  # checked, not created
    with pytest.raises(FileInputError, match="empty path"):
        check_output_folder(" ")
    with pytest.raises(FileInputError, match=r"^--out \S+: folder \S+typo does not exist$"):
        check_output_folder(tmp_path / "typo" / "cat")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileInputError, match="is a file"):
        check_output_folder(tmp_path / "file")


def test_no_writer_creates_missing_parent_folders():
    # QA: `tokenfab calibrate --out a/b/cat` checked its parent in the CLI, but the library
    # writer under it (and the chart, synthetic-log and band writers) called
    # mkdir(parents=True): a typo'd folder was silently created. The one writer allowed to
    # create parents is the importers' per-user catalog folder (~/.local/share/tokenfab/...)
    src = Path(__file__).resolve().parents[1] / "src" / "tokenfab"
    found = [
        f"{path.relative_to(src)}:{n}"
        for path in sorted(src.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "parents=True" in line
    ]
    assert len(found) == 1 and found[0].startswith("importers.py:"), found


def test_library_writers_refuse_a_missing_parent(tmp_path):
    from tokenfab.calibrate.bands import write_bands
    from tokenfab.charts import line_chart
    from tokenfab.usage.synth import synth

    missing = tmp_path / "typo"
    with pytest.raises(FileInputError, match=r"folder \S+typo does not exist"):
        write_bands(missing / "cat", [], "test")
    with pytest.raises(FileInputError, match=r"folder \S+typo does not exist"):
        line_chart(missing / "c.html", [], "t", "x", "y")
    with pytest.raises(FileInputError, match=r"folder \S+typo does not exist"):
        synth(10, missing / "log.csv")
    assert not missing.exists()
    # a new catalog folder whose parent exists is created (a new catalog)
    write_bands(tmp_path / "cat", [], "test")
    assert (tmp_path / "cat" / "error_bands.csv").is_file()


def test_calibrate_and_importers_refuse_a_missing_parent_in_one_line(tmp_path):
    import subprocess
    import sys

    fixtures = Path(__file__).resolve().parent / "fixtures"
    cmd = [sys.executable, "-c", "from tokenfab.cli import main; main()"]
    cal = fixtures / "calibrate" / "measured.csv"
    runs = {
        "--out": [*cmd, "calibrate", str(cal), "--out", str(tmp_path / "typo" / "cat")],
        "--catalog": [
            *cmd,
            "--catalog",
            str(tmp_path / "typo" / "cat"),
            "catalog",
            "import-prices",
            str(fixtures / "prices" / "openrouter.json"),
            "--format",
            "openrouter",
            "--as-of",
            "2026-01-01",
        ],
    }
    for option, args in runs.items():
        r = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert r.returncode == 2, (option, r.stderr)
        assert r.stderr.startswith(f"error: {option} "), r.stderr
        assert "typo does not exist" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists()


def test_load_yaml_reads_exponent_numbers_without_a_dot():
    # YAML 1.2 (and JSON) read 1e9 as a number; PyYAML's YAML 1.1 resolver wants a dot
    # (1.0e9) and gave the text "1e9". Quoted text and words that merely hold digits stay text.
    data = load_yaml("a: 1e9\nb: -2E+3\nc: 1.5e3\nd: '1e9'\ne: v1e9\nf: 12\n", "s.yaml")
    assert data == {"a": 1e9, "b": -2000.0, "c": 1500.0, "d": "1e9", "e": "v1e9", "f": 12}
    assert isinstance(data["f"], int)
