"""Named exceptions. Each message is one line that names the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class TokenfabError(ValueError):
    """Base class of every error tokenfab raises on bad input; the CLI prints its message only."""


class CatalogError(TokenfabError):
    """A catalog file is malformed, or an id is not in a catalog."""


class UnknownIdError(CatalogError):
    """An id that is not in its catalog.

    Raised by :meth:`tokenfab.catalog.Catalog.get` with the catalog's name first (the catalog
    does not know which field gave the id); :meth:`named` is the same line with the request
    field first, which the CLI and the HTTP API put there (:func:`name_unknown_id`). Code that
    wraps the message (``type(exc)(f"...: {exc}")``) builds one without ``table``.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        record_id: str | None = None,
        detail: str = "",
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.table, self.record_id, self.detail, self.field = table, record_id, detail, field

    def named(self, field: str) -> UnknownIdError:
        """The same line naming ``field`` (``model``, ``accelerator`` ...) in place of the
        catalog: ``model: unknown id 'nosuch' in models (list them with ...)``."""
        if self.table is None or self.record_id is None or self.field is not None:
            return self
        return UnknownIdError(
            f"{field}: unknown id {self.record_id!r}{self.detail}",
            table=self.table,
            record_id=self.record_id,
            detail=self.detail,
            field=field,
        )


def name_unknown_id(exc: UnknownIdError, values: Mapping[str, Any]) -> UnknownIdError:
    """``exc`` naming the field of ``values`` (a request's fields as given: options or a JSON
    body) that holds its id, else ``exc`` as it is (an error already naming its field too).

    A value holds the id when it is the id, or one item of a comma-separated list, a list or
    a ``MODEL:ACCELERATOR`` pair; in a nested mapping the path names it (``scenario.model``
    of a ``project`` body's scenario). An error that wrapped
    the catalog's (``type(exc)(f"prefill_accelerator: {id}: {exc}")``) is named from the
    catalog's own error it was raised from.

    >>> e = UnknownIdError("models: ...", table="models", record_id="x", detail=" in models")
    >>> str(name_unknown_id(e, {"accelerator": "h100-sxm", "model": "x"}))
    "model: unknown id 'x' in models"
    >>> str(name_unknown_id(e, {"accelerator": "h100-sxm,x"}))
    "accelerator: unknown id 'x' in models"
    >>> str(name_unknown_id(e, {"scenario": {"region": "us", "model": "x"}}))
    "scenario.model: unknown id 'x' in models"
    >>> str(name_unknown_id(e, {"accelerator": "x", "model": "x"}))  # the models catalog's field
    "model: unknown id 'x' in models"
    """
    source: BaseException | None = exc
    while isinstance(source, UnknownIdError) and source.table is None and source.field is None:
        source = source.__context__  # the catalog's own error a wrapper was raised from
    if not isinstance(source, UnknownIdError) or source.field is not None:
        return exc
    # a field named for the catalog first (accelerator, prefill_accelerator for accelerators),
    # so --model x --accelerator x names the field whose catalog lacks x
    stem = (source.table or "").split("-")[0].removesuffix("s")
    fields = sorted(values, key=lambda f: stem not in f)
    for field in fields:
        where = _path_to(source.record_id, values[field])
        if where is not None:
            return source.named(field + where)
    return exc


def _path_to(record_id: str | None, value: Any) -> str | None:
    """Where in ``value`` the id is: ``""`` for the value itself (or an item of its
    comma-separated text, a ``MODEL:ACCELERATOR`` pair or a list), ``".model"`` for a nested
    mapping's key; None: not there."""
    if isinstance(value, str):
        parts = {p.strip() for part in value.split(",") for p in part.split(":")}
        return "" if record_id in parts else None
    if isinstance(value, Mapping):
        for key, inner in value.items():
            where = _path_to(record_id, inner)
            if where is not None:
                return f".{key}{where}"
        return None
    if isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            where = _path_to(record_id, inner)
            if where is not None:
                return where if isinstance(inner, str) else f".{i}{where}"
    return None


class ScenarioError(TokenfabError):
    """A scenario field is out of its allowed range or inconsistent with another field."""


class InfeasibleError(TokenfabError):
    """The scenario cannot run: the model does not fit, or no operating point meets the targets."""


class FileInputError(TokenfabError):
    """A file given to tokenfab cannot be read or written: missing, too large, not UTF-8 text,
    not a regular file, or an output path whose folder is missing or not writable."""


def and_list(items: Iterable[str], conjunction: str = "and") -> str:
    """Items as a sentence lists them, for error lines: the last two joined by ``conjunction``.

    >>> and_list(["NVIDIA", "AMD", "Intel"]), and_list(["NVIDIA"]), and_list([])
    ('NVIDIA, AMD and Intel', 'NVIDIA', '')
    >>> and_list(["vllm", "sglang"], "or")
    'vllm or sglang'
    """
    xs = list(items)
    if len(xs) <= 1:
        return "".join(xs)
    return f"{', '.join(xs[:-1])} {conjunction} {xs[-1]}"
