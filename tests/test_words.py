from __future__ import annotations

import pytest

from tokenfab.words import plural


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((1, "request"), "1 request"),  # exactly one: singular
        ((0, "request"), "0 requests"),  # none is plural in English
        ((2, "malformed row"), "2 malformed rows"),  # the last word takes the s
        ((12345, "entry", "entries"), "12,345 entries"),  # an irregular plural, thousands
        ((1.0, "day", None, ".2f"), "1.00 day"),  # a float count of exactly 1
        ((1.5, "day", None, ".2f"), "1.50 days"),
    ],
)
def test_plural_is_singular_for_exactly_one(args, text):
    assert plural(*args) == text
