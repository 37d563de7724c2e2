"""The generic request-log schema every adapter maps to, and the usage errors.

One row per model call. Token conventions follow the OpenAI usage object: ``input_tokens``
includes the prompt tokens served from a prompt cache (``cached_input_tokens`` is a subset of
it) and ``output_tokens`` includes the hidden reasoning tokens (``reasoning_tokens`` is a
subset of it), so a list price is ``(input - cached) * input_price + cached * cached_price +
output * output_price``. docs/usage.md documents each field.

References
----------
.. [1] OpenAI API reference, chat completion object, ``usage.prompt_tokens_details.cached_tokens``
   and ``usage.completion_tokens_details.reasoning_tokens``:
   https://platform.openai.com/docs/api-reference/chat/object
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenfab.errors import TokenfabError

MAX_ROWS = 10**10
"""Most requests ``usage synth`` writes: ten billion, a few TB of Parquet (1e12 once ran for
hours on a 0-byte file)."""
MAX_DAYS = 36_600.0
"""Longest span ``usage synth`` covers: a century of traffic (inf and NaN once reached int())."""


class UsageLogError(TokenfabError):
    """A request log cannot be read: no file, empty, or columns that match no known format."""


@dataclass(frozen=True)
class Field:
    """One column of the generic schema."""

    name: str
    kind: str  # timestamp | string | int | float
    required: bool
    unit: str
    description: str


FIELDS: tuple[Field, ...] = (
    Field("timestamp", "timestamp", True, "UTC", "when the request started"),
    Field("model", "string", True, "-", "model name as the provider reports it"),
    Field("input_tokens", "int", True, "tokens", "all prompt tokens, cached ones included"),
    Field("output_tokens", "int", True, "tokens", "all completion tokens, reasoning included"),
    Field("cached_input_tokens", "int", False, "tokens", "prompt tokens read from a cache"),
    Field("reasoning_tokens", "int", False, "tokens", "hidden reasoning tokens"),
    Field("provider", "string", False, "-", "who served the request"),
    Field("cost_usd", "float", False, "USD", "cost the log records for the request"),
    Field("latency_s", "float", False, "s", "request start to last token"),
    Field("ttft_s", "float", False, "s", "request start to first token"),
    Field("status", "string", False, "-", "success or error (empty: success)"),
    Field("app", "string", False, "-", "application, team or feature"),
    Field("user", "string", False, "-", "end user"),
    Field("task_id", "string", False, "-", "id shared by the requests of one task"),
    Field("category", "string", False, "-", "use case, e.g. programming, roleplay"),
    Field("request_id", "string", False, "-", "id of the request"),
)
BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")
