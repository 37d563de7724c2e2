"""Named exceptions. Each message is one line that names the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable


class TokenfabError(ValueError):
    """Base class of every error tokenfab raises on bad input; the CLI prints its message only."""


class CatalogError(TokenfabError):
    """A catalog file is malformed, or an id is not in a catalog."""


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
