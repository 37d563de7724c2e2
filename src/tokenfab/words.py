"""Counts in words for printed lines: "1 request", "2 requests", never "1 requests"."""

from __future__ import annotations


def plural(n: float, noun: str, plural: str | None = None, spec: str = ",") -> str:
    """``n`` and its noun, singular for exactly one and plural otherwise.

    Parameters
    ----------
    n : float
        The count (an int, or a float such as days or years).
    noun : str
        The singular noun, or several words ending in it ("malformed row").
    plural : str, optional
        The plural where it is not ``noun + "s"`` ("entries"); default ``noun + "s"``.
    spec : str
        The format spec of the number (default ``","``: thousands separated).

    Returns
    -------
    str
        ``f"{n:{spec}} {noun or plural}"``: "1 request" once printed "1 requests".

    Examples
    --------
    >>> plural(1, "request"), plural(2, "malformed row"), plural(12345, "entry", "entries")
    ('1 request', '2 malformed rows', '12,345 entries')
    >>> plural(1.0, "day", spec=".2f"), plural(0, "file")
    ('1.00 day', '0 files')
    """
    return f"{n:{spec}} {noun if n == 1 else (plural or noun + 's')}"
