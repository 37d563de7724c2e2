"""Bounded, checked file input and output for every interface.

Each function turns a problem with a file into one line that names the file and the problem
(:class:`~tokenfab.errors.FileInputError`), never a traceback, a hang or a silent partial read:

- :func:`read_text` reads at most ``max_bytes + 1`` bytes of a *regular* file (a device such as
  ``/dev/urandom``, a pipe or a folder is refused before it is opened) and decodes it as UTF-8,
  naming UTF-16 and binary files for what they are.
- :func:`load_yaml` parses YAML with the safe loader, refusing aliases (so an alias "billion
  laughs" bomb cannot expand) and nesting deeper than :data:`MAX_YAML_DEPTH`.
- :func:`check_output_path` checks an output path *before* any work is done: not empty, its
  folder exists, it is not a folder, and a file can be created there.
- :func:`check_output_folder` does the same for a folder a command writes into: the folder may
  be new, the folder that holds it must exist (no writer creates missing parents).
- :func:`atomic_output` (and :func:`write_text_atomic`) writes a file whole or not at all: the
  writer fills a temporary file in the same folder, which is renamed over the target only when
  it is complete, so an interrupted run (Ctrl-C, a full disk, an error) leaves no partial file.
- :func:`json_text` writes strict JSON: a non-finite number becomes ``null`` (JSON has no
  ``Infinity`` or ``NaN``), and the record that held it says why under ``null_reasons``.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tokenfab.errors import FileInputError

SCENARIO_MAX_BYTES = 1_000_000
"""A scenario is a few dozen ``field: value`` lines (the examples are under 1 kB); 1 MB is a
thousand times that, and bounds the parse at well under a second."""
CATALOG_MAX_BYTES = 20_000_000
"""The largest built-in catalog is under 100 kB; a user catalog of 20 MB holds ~100,000 rows."""
MAX_YAML_DEPTH = 50
"""A scenario is a flat mapping; 50 levels of nesting is far beyond any valid file."""


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} bytes"


def read_text(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> str:
    """The text of a regular UTF-8 file of at most ``max_bytes`` bytes.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is ("scenario file", "catalog file"), for the message.
    max_bytes : int
        Largest accepted size [byte]; at most ``max_bytes + 1`` bytes are ever read.

    Returns
    -------
    str
        The decoded text (a UTF-8 byte-order mark is dropped).

    Raises
    ------
    FileInputError
        ``PATH: problem`` when the file is missing, not a regular file, larger than
        ``max_bytes``, UTF-16, binary or not valid UTF-8.

    Examples
    --------
    >>> read_text("/dev/zero", what="scenario file", max_bytes=100)
    Traceback (most recent call last):
    ...
    tokenfab.errors.FileInputError: /dev/zero: not a regular file (a device); give a scenario file
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FileInputError(f"{p}: no such {what}") from None
    except OSError as exc:
        raise FileInputError(f"{p}: cannot read {what} ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileInputError(f"{p}: is a folder; give a {what}")
    if not stat.S_ISREG(st.st_mode):
        kind = "a pipe" if stat.S_ISFIFO(st.st_mode) else "a device"
        raise FileInputError(f"{p}: not a regular file ({kind}); give a {what}")
    too_big = f"{p}: {what} is larger than the {_size(max_bytes)} limit"
    if st.st_size > max_bytes:
        raise FileInputError(f"{too_big} ({_size(st.st_size)})")
    try:
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileInputError(f"{p}: cannot read {what} ({exc.strerror})") from None
    if len(data) > max_bytes:  # grew since stat, or a file system that reports no size
        raise FileInputError(too_big)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileInputError(f"{p}: {what} is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise FileInputError(f"{p}: {what} is binary (holds NUL bytes), not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileInputError(
            f"{p}:{line}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader without aliases, and with a bound on nesting."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise FileInputError(
                f"{self.name}:{mark.line + 1}: YAML aliases (*name) are not allowed; "
                "write the value out"
            )
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise FileInputError(
                    f"{self.name}:{mark.line + 1}: nested deeper than {MAX_YAML_DEPTH} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # PyYAML keeps the last of two equal keys; a scenario that says `model:` twice is
        # ambiguous, so it is refused rather than silently half-read
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise FileInputError(
                    f"{self.name}:{line}: key {key!r} appears twice (first on line "
                    f"{seen[key]}); give each key once"
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads a number in exponent form without a dot, `1e9`, as the text "1e9";
# YAML 1.2 and JSON read it as a number, and so does every tokenfab file: a demand file's
# `users: 1e9` was refused as "'1e9' is not a number"
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str, path: str | os.PathLike[str]) -> Any:
    """Parse YAML text read from ``path`` with the safe loader, refusing aliases.

    Raises
    ------
    FileInputError
        ``PATH:LINE: not valid YAML (problem)``, or an alias, or nesting too deep.

    Examples
    --------
    >>> load_yaml("a: 1\\nb: [x, y]\\n", "s.yaml")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml("a: &x [1]\\nb: *x\\n", "s.yaml")
    Traceback (most recent call last):
    ...
    tokenfab.errors.FileInputError: s.yaml:2: YAML aliases (*name) are not allowed; write the value out
    >>> load_yaml("model: a\\nmodel: b\\n", "s.yaml")
    Traceback (most recent call last):
    ...
    tokenfab.errors.FileInputError: s.yaml:2: key 'model' appears twice (first on line 1); give each key once
    """
    loader = _NoAliasLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        raise FileInputError(
            f"{path}{where}: not valid YAML" + (f" ({problem})" if problem else "")
        ) from None
    finally:
        loader.dispose()


# a chart is written as an interactive HTML page with a PNG beside it; --out names either
CHART_SUFFIXES = (".html", ".png")


def check_output_path(
    path: str | os.PathLike[str],
    *,
    option: str = "--out",
    suffixes: tuple[str, ...] | None = None,
) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    A file that did not exist is created empty to prove it can be, then removed.

    Raises
    ------
    FileInputError
        ``--out PATH: problem``: empty, a folder, a missing folder, not writable, or (with
        ``suffixes``) a file type the command does not write.

    Examples
    --------
    >>> check_output_path("/no-such-folder/chart.html")
    Traceback (most recent call last):
    ...
    tokenfab.errors.FileInputError: --out /no-such-folder/chart.html: folder /no-such-folder does not exist
    """
    text = os.fspath(path)
    if not text.strip():
        raise FileInputError(f"{option}: empty path; give a file name such as chart.html")
    p = Path(text)
    parent = p.parent
    if not parent.exists():
        raise FileInputError(f"{option} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise FileInputError(f"{option} {p}: {parent} is not a folder")
    if p.is_dir():
        raise FileInputError(f"{option} {p}: is a folder; give a file name")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise FileInputError(
            f"{option} {p}: writes {' or '.join(suffixes)} files; got {p.suffix or 'no extension'}"
        )
    existed = p.exists()
    try:
        with p.open("a"):
            pass
    except OSError as exc:
        raise FileInputError(f"{option} {p}: cannot write ({exc.strerror})") from None
    if not existed:
        p.unlink()
    return p


def check_output_folder(
    path: str | os.PathLike[str], *, option: str = "--out", example: str = "my-catalog"
) -> Path:
    """Check, before any work, a folder a command writes files into (a catalog folder).

    The folder itself may be new -- the writer creates it, as a new catalog -- but the folder
    that holds it must exist, as for :func:`check_output_path`: a typo in a parent is refused,
    never created.

    Raises
    ------
    FileInputError
        ``--out PATH: problem``: empty, a file, or a missing parent folder.

    Examples
    --------
    >>> check_output_folder("/no-such-folder/my-catalog")
    Traceback (most recent call last):
    ...
    tokenfab.errors.FileInputError: --out /no-such-folder/my-catalog: folder /no-such-folder does not exist
    """
    text = os.fspath(path)
    if not text.strip():
        raise FileInputError(f"{option}: empty path; give a folder such as {example}")
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise FileInputError(f"{option} {p}: is a file; give a folder")
    if not p.parent.is_dir():
        raise FileInputError(f"{option} {p}: folder {p.parent} does not exist")
    return p


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` to write into; renamed over ``path`` on success.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is left as
    it was: a reader never sees half a file. The rename is atomic on POSIX file systems
    (``os.replace``, rename(2)). The file gets the permissions a plain ``open`` would give it
    (an existing file's own, else 0666 less the umask).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    p = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".partial", dir=p.parent or ".")
    os.close(fd)
    tmp = Path(name)
    try:
        if p.exists():
            mode = stat.S_IMODE(p.stat().st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` whole or not at all (:func:`atomic_output`)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _finite(value: Any, reasons: dict[str, str], key: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        reasons[key] = "not a finite number (" + ("nan" if value != value else "infinite") + ")"
        return None
    return _json_safe(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        reasons: dict[str, str] = {}
        out = {str(k): _finite(v, reasons, str(k)) for k, v in value.items()}
        if reasons:
            out["null_reasons"] = {**out.get("null_reasons", {}), **reasons}
        return out
    if isinstance(value, list | tuple):
        return [
            None if isinstance(v, float) and not math.isfinite(v) else _json_safe(v) for v in value
        ]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # NumPy scalar
        return _json_safe(value.item())
    return value


def keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads`: a JSON object whose keys are each given
    once. ``{"model": "a", "model": "b"}`` is refused -- json.loads keeps the last, so "a"
    was dropped without a word -- as a scenario file's repeated key is (:func:`load_yaml`).

    Raises
    ------
    TokenfabError
        Naming the repeated key.
    """
    from tokenfab.errors import TokenfabError

    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise TokenfabError(f"{key}: given more than once in the body; give each key once")
        out[key] = value
    return out


def json_text(data: Any, indent: int | None = 2) -> str:
    """Strict JSON (RFC 8259) of ``data``, indented (``indent=None``: compact, as the HTTP API
    sends it), with a final newline.

    Non-finite floats become ``null``; a mapping that held one gains ``null_reasons``
    (``{key: why}``). NumPy scalars become Python numbers; other objects their ``str``.

    Examples
    --------
    >>> print(json_text({"months": float("inf"), "usd": 2.5}), end="")
    {
      "months": null,
      "usd": 2.5,
      "null_reasons": {
        "months": "not a finite number (infinite)"
      }
    }
    """
    separators = (",", ":") if indent is None else None
    safe = _json_safe(data)
    return (
        json.dumps(safe, indent=indent, separators=separators, default=str, allow_nan=False) + "\n"
    )
