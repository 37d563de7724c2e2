"""Provider model names ("gpt-4o-2024-08-06", "anthropic/claude-3.5-sonnet") to catalog prices.

A name and a catalog row match on a key: lower case, any ``provider/`` prefix and ``-latest``
dropped, an Amazon Bedrock id's ``[region.]vendor.`` prefix and ``-vN:M`` version dropped, a
Gemini stable-version suffix (``-001``) dropped, dots and spaces as dashes, a trailing snapshot date (``-2024-08-06`` or
``-20241022``) set aside. A catalog row's key is its ``model_name`` outside parentheses; a
model id written inside them (``DeepSeek-V3 (deepseek-chat)``) is a second key. A name whose
key has no row falls back, with a trailing ``-instruct`` dropped, to the rows whose tokenfab
``model_id`` it names (OpenRouter's ``meta-llama/llama-3.3-70b-instruct`` to the rows of
``llama-3.3-70b``: open weights that several providers list, each its own name). Among the
rows of a key, a snapshot date written in the row's name wins; otherwise the row in effect at
the log's last day (latest ``effective_date`` on or before it); where that row only adds a
price (prompt caching, a batch API) to an earlier row of the same list prices, the earlier
(standard) row's id is the one shown. A row without a cached-input
price borrows it from a row of the same key with the same input and output prices (OpenAI
listed caching as its own row). A name with no row is priced "unknown" and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tokenfab.catalog import ApiPrice, Catalog

_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_PAREN = re.compile(r"\(([^)]*)\)")
_BEDROCK_PREFIX = re.compile(
    r"^(?:(?:us|eu|apac|global)\.)?(?:anthropic|meta|amazon|mistral|cohere|ai21|deepseek|openai)\."
)
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_GOOGLE_VERSION = re.compile(r"^(gemini-.*)-00\d$")


@dataclass(frozen=True)
class Price:
    """One model's list prices [USD per million tokens] and the catalog row they come from."""

    model: str
    price_id: str
    provider: str
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cached_input_usd_per_mtok: float  # the input price where the row lists none
    tokenfab_model: str | None


def _dashes(text: str) -> str:
    return re.sub(r"[\s._]+", "-", text.strip().lower()).strip("-")


def name_key(name: str) -> tuple[str, str | None]:
    """(key, snapshot date) of a provider model name.

    >>> name_key("openai/gpt-4o-2024-08-06")
    ('gpt-4o', '2024-08-06')
    >>> name_key("claude-3-5-sonnet-20241022")
    ('claude-3-5-sonnet', '2024-10-22')
    >>> name_key("us.anthropic.claude-3-5-sonnet-20240620-v1:0")
    ('claude-3-5-sonnet', '2024-06-20')
    >>> name_key("models/gemini-2.0-flash-001")
    ('gemini-2-0-flash', None)
    """
    base = name.strip().lower().rsplit("/", 1)[-1].removesuffix("-latest")
    # Amazon Bedrock ids: [region.]vendor.model-vN:M ("us.anthropic.claude-3-5-sonnet-20240620-v1:0")
    bedrock = _BEDROCK_PREFIX.match(base)
    if bedrock:  # only there: "-v3" is part of "deepseek-v3"
        base = _BEDROCK_VERSION.sub("", base[bedrock.end() :])
    # Google's stable versions of one model: gemini-2.0-flash-001, gemini-1.5-pro-002
    base = _GOOGLE_VERSION.sub(r"\1", base)
    snap = None
    m = _DATE.search(base)
    if m:
        raw = m.group(1).replace("-", "")
        snap = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
        base = base[: m.start()]
    return _dashes(base), snap


def row_keys(p: ApiPrice) -> tuple[list[str], str | None]:
    """Keys of a catalog row, and the snapshot date its name states, if any."""
    keys = [_dashes(_PAREN.sub("", p.model_name))]
    snap = None
    for inner in _PAREN.findall(p.model_name):
        for part in inner.split(","):
            part = part.strip()
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                snap = part
            elif re.fullmatch(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]", part) and "-" in part:
                keys.append(_dashes(part))
    return keys, snap


Rows = dict[str, list[tuple[ApiPrice, str | None]]]


def _by_key(catalog: Catalog) -> tuple[Rows, Rows]:
    """Catalog rows (and the snapshot date each names) by key, and by dashed ``model_id``."""
    by_key: Rows = {}
    by_model: Rows = {}
    for p in catalog.table("api-prices").values():
        keys, snap = row_keys(p)
        for k in keys:
            by_key.setdefault(k, []).append((p, snap))
        if p.model_id:
            by_model.setdefault(_dashes(p.model_id), []).append((p, snap))
    return by_key, by_model


def _candidates(key: str, rows: tuple[Rows, Rows]) -> list[tuple[ApiPrice, str | None]]:
    """The rows of a name's key; where it has none, the rows of the tokenfab model it names
    (a trailing ``-instruct`` dropped: the open-weights chat model is the one served)."""
    by_key, by_model = rows
    return by_key.get(key) or by_model.get(key.removesuffix("-instruct"), [])


def provider_matters(names: list[str], catalog: Catalog) -> list[str]:
    """The names whose catalog rows come from more than one provider: only for these can
    the logged provider change which row :func:`resolve` picks (it keeps the rows of the
    provider named, where one is); for every other name the provider is not needed."""
    rows = _by_key(catalog)
    out = []
    for name in names:
        provs = {c[0].provider.lower() for c in _candidates(name_key(name)[0], rows)}
        if len(provs) > 1:
            out.append(name)
    return out


_ADDED = (
    "cached_input_usd_per_mtok",
    "batch_input_usd_per_mtok",
    "batch_output_usd_per_mtok",
    "cache_write_usd_per_mtok",
)


def _standard_row(best: ApiPrice, cands: list[tuple[ApiPrice, str | None]]) -> ApiPrice:
    """The row whose list prices ``best`` repeats: the catalog adds a price (prompt caching,
    a batch API) as a later row of the same model, provider, input and output prices that
    fills a price the earlier row leaves empty (``openai-gpt-4o-mini-cached-2024-10`` after
    ``openai-gpt-4o-mini-2024-07``, ``google-gemini-2-5-flash-batch-2025-07`` after
    ``google-gemini-2-5-flash-2025-06``). Stepping back over such rows gives the standard
    row, whose id the report shows; a row that changes a price (a cached price cut) stops it.
    """
    rows = sorted(
        (c[0] for c in cands if c[0].effective_date < best.effective_date),
        key=lambda p: p.effective_date,
        reverse=True,
    )
    shown = best
    for p in rows:
        if p.provider != shown.provider:
            continue
        if (p.input_usd_per_mtok, p.output_usd_per_mtok) != (
            shown.input_usd_per_mtok,
            shown.output_usd_per_mtok,
        ) or any(getattr(p, f) is not None and getattr(p, f) != getattr(shown, f) for f in _ADDED):
            break
        shown = p
    return shown


def resolve(
    names: list[str],
    catalog: Catalog,
    as_of: date | None = None,
    providers: dict[str, str] | None = None,
) -> tuple[dict[str, Price], list[str]]:
    """Prices of the names that match a catalog row, and the names that match none."""
    rows = _by_key(catalog)
    found: dict[str, Price] = {}
    unknown: list[str] = []
    for name in names:
        key, snap = name_key(name)
        cands = _candidates(key, rows)
        prov = (providers or {}).get(name)
        if prov:
            same = [c for c in cands if c[0].provider.lower().startswith(prov.lower()[:4])]
            cands = same or cands
        if not cands:
            unknown.append(name)
            continue
        dated = [c for c in cands if snap and c[1] == snap]
        if dated:
            best = dated[0][0]
        else:
            live = [c[0] for c in cands if as_of is None or c[0].effective_date <= as_of]
            pool = live or [min((c[0] for c in cands), key=lambda p: p.effective_date)]
            best = max(pool, key=lambda p: p.effective_date)
        found[name] = _price(name, best, cands)
    return found, unknown


def _price(name: str, best: ApiPrice, cands: list[tuple[ApiPrice, str | None]]) -> Price:
    """``best``'s prices, its cached price borrowed from a twin row where it lists none."""
    cached = best.cached_input_usd_per_mtok
    shown = _standard_row(best, cands)
    if cached is None:
        twins = [
            c[0]
            for c in cands
            if c[0].cached_input_usd_per_mtok is not None
            and c[0].input_usd_per_mtok == best.input_usd_per_mtok
            and c[0].output_usd_per_mtok == best.output_usd_per_mtok
        ]
        cached = twins[0].cached_input_usd_per_mtok if twins else best.input_usd_per_mtok
    return Price(
        name,
        shown.id,
        best.provider,
        best.input_usd_per_mtok,
        best.output_usd_per_mtok,
        float(cached),
        best.model_id,
    )


def by_id(price_id: str, catalog: Catalog) -> Price:
    """The prices of one catalog row named by its id, priced as :func:`resolve` prices the
    same row reached by a model name: a row without a cached-input price borrows it from a
    row of the same key with the same input and output prices, so ``openai-gpt-4o-2024-08``
    and ``gpt-4o-2024-08-06`` price a cached token alike ($1.25, from OpenAI's
    prompt-caching row).

    Raises
    ------
    KeyError
        No row has that id.
    """
    row = catalog.table("api-prices")[price_id]
    cands = _by_key(catalog)[0].get(row_keys(row)[0][0], [])
    return _price(price_id, row, cands)


def list_cost_usd(
    input_tokens,
    cached_input_tokens,
    output_tokens,
    input_usd_per_mtok,
    cached_usd_per_mtok,
    output_usd_per_mtok,
):
    """List cost of requests [USD]; works on numbers, NumPy arrays and Ibis columns alike.

    Cached prompt tokens are billed at the cached price and the rest of the prompt at the
    input price; reasoning tokens are part of the output tokens and billed at the output price.

    >>> list_cost_usd(1000, 400, 500, 2.5, 1.25, 10.0)
    0.007
    """
    return (
        (input_tokens - cached_input_tokens) * input_usd_per_mtok
        + cached_input_tokens * cached_usd_per_mtok
        + output_tokens * output_usd_per_mtok
    ) / 1e6
