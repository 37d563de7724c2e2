"""Demand from usage: users × sessions × requests × tokens, by archetype → tokens a day.

An archetype (chat, RAG, long-context, coding agent, reasoning, batch, roleplay) holds the
usage parameters of one kind of use, each either sourced (cited) or assumed (with why), in
``data/demand_archetypes.yaml``. A demand file lists archetypes with their number of users and
any parameter overridden::

    archetypes:
      - archetype: chat
        users: 200000
      - archetype: coding-agent
        users: 2000
        sessions_per_user_per_day: 8

:func:`build` turns it into output and input tokens a day, requests a second at peak and the
mean token lengths per call; :func:`scenario_fields` gives the Scenario fields that
``tokenfab plan --demand`` and ``tokenfab estimate --demand`` use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from tokenfab.catalog import nearest
from tokenfab.errors import ScenarioError
from tokenfab.fileio import SCENARIO_MAX_BYTES, load_yaml, read_text
from tokenfab.kpis import SECONDS_PER_DAY
from tokenfab.scenario import MAX_TOKENS_PER_DAY

__all__ = [
    "PARAMETERS",
    "ArchetypeDemand",
    "Demand",
    "archetypes",
    "build",
    "demand_fields",
    "load_demand",
]

# parameter -> (lowest allowed, whether the lowest is excluded)
PARAMETERS: dict[str, tuple[float, bool]] = {
    "sessions_per_user_per_day": (0.0, True),
    "requests_per_session": (1.0, False),
    "calls_per_request": (1.0, False),
    "input_tokens": (0.0, False),
    "context_growth_tokens": (0.0, False),
    "output_tokens": (1.0, False),
    "reasoning_tokens": (0.0, False),
    "peak_to_average": (1.0, False),
}


def _read_only(value: Any) -> Any:
    """Mappings (nested) as read-only views and lists as tuples: the cached table is shared."""
    if isinstance(value, dict):
        return MappingProxyType({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    return value


@cache
def archetypes() -> Mapping[str, Mapping[str, Any]]:
    """The built-in archetypes: ``{name: {description, param: {value, source|assumed}}}``
    (read-only: the table is cached and shared by every caller)."""
    text = (
        resources.files("tokenfab")
        .joinpath("data/demand_archetypes.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    for name, arch in data.items():
        for p in PARAMETERS:
            entry = arch.get(p)
            if not isinstance(entry, dict) or "value" not in entry:
                raise ScenarioError(f"demand_archetypes.yaml: {name}.{p}: missing value")
            if ("source" in entry) == ("assumed" in entry):
                raise ScenarioError(
                    f"demand_archetypes.yaml: {name}.{p}: needs exactly one of source or assumed"
                )
    return _read_only(data)


MAX_USERS = 1e10
"""More than the world's population (8.2 billion, UN World Population Prospects 2024)."""


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{field}: {value!r} is not a number")
    if not math.isfinite(value):
        raise ScenarioError(f"{field}: {value!r} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class ArchetypeDemand:
    """One archetype's parameters (with provenance) and the daily demand they make."""

    archetype: str
    users: float
    params: dict[str, float]
    provenance: dict[str, str]  # param -> "source: ..." | "assumed: ..." | "given"

    @property
    def calls_per_day(self) -> float:
        p = self.params
        return (
            self.users
            * p["sessions_per_user_per_day"]
            * p["requests_per_session"]
            * p["calls_per_request"]
        )

    @property
    def input_tokens_per_call(self) -> float:
        """Mean prompt: the base plus the history, which grows by a step each request; the
        k-th request (k = 1..n) carries (k - 1) steps, on average (n - 1) / 2."""
        p = self.params
        return p["input_tokens"] + p["context_growth_tokens"] * (p["requests_per_session"] - 1) / 2

    @property
    def output_tokens_per_call(self) -> float:
        """Tokens generated per call, visible and reasoning (what the hardware produces)."""
        return self.params["output_tokens"] + self.params["reasoning_tokens"]

    @property
    def input_tokens_per_day(self) -> float:
        return self.calls_per_day * self.input_tokens_per_call

    @property
    def output_tokens_per_day(self) -> float:
        return self.calls_per_day * self.output_tokens_per_call

    @property
    def peak_requests_per_s(self) -> float:
        return self.calls_per_day / SECONDS_PER_DAY * self.params["peak_to_average"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "archetype": self.archetype,
            "users": self.users,
            "parameters": {
                k: {"value": v, "basis": self.provenance[k]} for k, v in self.params.items()
            },
            "calls_per_day": self.calls_per_day,
            "input_tokens_per_call": self.input_tokens_per_call,
            "output_tokens_per_call": self.output_tokens_per_call,
            "input_tokens_per_day": self.input_tokens_per_day,
            "tokens_per_day": self.output_tokens_per_day,
            "peak_requests_per_s": self.peak_requests_per_s,
        }


@dataclass(frozen=True)
class Demand:
    """The sum over archetypes."""

    parts: list[ArchetypeDemand]

    @property
    def calls_per_day(self) -> float:
        return sum(p.calls_per_day for p in self.parts)

    @property
    def tokens_per_day(self) -> float:
        """Output tokens a day, reasoning included (the project's ``tokens_per_day``)."""
        return sum(p.output_tokens_per_day for p in self.parts)

    @property
    def input_tokens_per_day(self) -> float:
        return sum(p.input_tokens_per_day for p in self.parts)

    @property
    def peak_requests_per_s(self) -> float:
        """Sum of the archetypes' peaks: peaks are assumed to coincide (the safe side)."""
        return sum(p.peak_requests_per_s for p in self.parts)

    @property
    def peak_to_average(self) -> float:
        """Peak over average of output tokens, peaks coinciding."""
        peak = sum(p.output_tokens_per_day * p.params["peak_to_average"] for p in self.parts)
        return peak / self.tokens_per_day

    def scenario_fields(self) -> dict[str, Any]:
        """Fields for a Scenario: demand, and the call-weighted mean token lengths.

        A mix of archetypes becomes one average request; a mix with very different lengths
        (chat with agents) is better planned one archetype at a time.
        """
        n = self.calls_per_day
        visible = sum(p.calls_per_day * p.params["output_tokens"] for p in self.parts) / n
        reasoning = sum(p.calls_per_day * p.params["reasoning_tokens"] for p in self.parts) / n
        return {
            "tokens_per_day": self.tokens_per_day,
            "input_tokens": max(1, round(self.input_tokens_per_day / n)),
            "output_tokens": max(1, round(visible)),
            "reasoning_tokens": round(reasoning),
            "peak_to_average": self.peak_to_average,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "archetypes": [p.as_dict() for p in self.parts],
            "calls_per_day": self.calls_per_day,
            "input_tokens_per_day": self.input_tokens_per_day,
            "tokens_per_day": self.tokens_per_day,
            "peak_requests_per_s": self.peak_requests_per_s,
            "peak_to_average": self.peak_to_average,
            "scenario": self.scenario_fields(),
        }


def build(entries: list[dict[str, Any]]) -> Demand:
    """Demand from ``[{archetype, users, <parameter overrides>}, ...]``.

    Raises
    ------
    ScenarioError
        Unknown archetype or parameter, missing or non-positive users, a parameter below its
        allowed minimum; the message names the entry and the field.

    Examples
    --------
    1,000 chat users: 1,000 x 1 session x 2.8 requests = 2,800 calls, x 300 output tokens =
    840,000 output tokens a day.

    >>> d = build([{"archetype": "chat", "users": 1000}])
    >>> round(d.calls_per_day), round(d.tokens_per_day)
    (2800, 840000)
    """
    known = archetypes()
    if not entries:
        raise ScenarioError("archetypes: a demand needs at least one archetype entry")
    parts = []
    for i, entry in enumerate(entries):
        where = f"archetypes.{i}"  # the path pydantic gives the same entry
        if not isinstance(entry, dict):
            raise ScenarioError(f"{where}: each entry is a mapping with archetype and users")
        name = entry.get("archetype")
        if name not in known:
            near = nearest(str(name), known)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ScenarioError(
                f"{where}.archetype: unknown archetype {name!r}{hint}; allowed: {', '.join(known)}"
            )
        unknown = sorted(set(entry) - {"archetype", "users", *PARAMETERS})
        if unknown:
            raise ScenarioError(
                f"{where}.{unknown[0]}: unknown field; allowed: archetype, users, {', '.join(PARAMETERS)}"
            )
        if "users" not in entry:
            raise ScenarioError(
                f"{where}.users: missing; give the number of users (1 to {MAX_USERS:g})"
            )
        users = _number(f"{where}.users", entry["users"])
        if not 1 <= users <= MAX_USERS:  # the schema's range (DemandEntry.users), not "> 0"
            raise ScenarioError(
                f"{where}.users: {users:g} is not allowed; allowed: 1 to {MAX_USERS:g}"
            )
        params, provenance = {}, {}
        for p, (low, open_) in PARAMETERS.items():
            base = known[name][p]
            if p in entry:
                v = _number(f"{where}.{p}", entry[p])
                provenance[p] = "given"
            else:
                v = float(base["value"])
                provenance[p] = (
                    f"source: {base['source']}"
                    if "source" in base
                    else f"assumed: {base['assumed']}"
                )
            if (v <= low) if open_ else (v < low):
                rng = f"> {low:g}" if open_ else f">= {low:g}"
                raise ScenarioError(f"{where}.{p}: {v:g} is not allowed; allowed: {rng}")
            params[p] = v
        parts.append(ArchetypeDemand(name, users, params, provenance))
    demand = Demand(parts)
    if demand.tokens_per_day > MAX_TOKENS_PER_DAY:
        raise ScenarioError(
            f"archetypes: the demand comes to {demand.tokens_per_day:.3g} output tokens a day; "
            f"allowed: at most {MAX_TOKENS_PER_DAY:g} (the Scenario's tokens_per_day bound)"
        )
    return demand


SCENARIO_DEMAND_FIELDS = (
    "tokens_per_day",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "peak_to_average",
)
"""The Scenario fields a demand sets (:meth:`Demand.scenario_fields`); ``tokenfab demand
--write-scenario`` writes them."""

DEMAND_FILE = (
    "a demand file is a mapping with an 'archetypes' list (tokenfab demand's input), or the "
    f"scenario fields tokenfab demand --write-scenario writes ({', '.join(SCENARIO_DEMAND_FIELDS)})"
)


def _read_demand_file(path: str | Path) -> Any:
    text = read_text(path, what="demand file", max_bytes=SCENARIO_MAX_BYTES)
    return load_yaml(text, path)  # UTF-8, at most 1 MB, no YAML aliases


def _archetypes_file(data: Any, path: str | Path, why: str) -> Demand:
    if not isinstance(data, dict) or not isinstance(data.get("archetypes"), list):
        raise ScenarioError(f"{path}: {why}")
    extra = sorted(set(data) - {"archetypes"})
    if extra:
        raise ScenarioError(f"{path}: {extra[0]}: unknown field; allowed: archetypes")
    # each entry through the schema the API's body and the CLI's --archetype take, so that a
    # file allows what they allow (it took 0.5 users they refuse, and no upper bounds)
    from tokenfab.schema import DemandRequest

    try:
        return build(DemandRequest.parse({"archetypes": data["archetypes"]}).entries() or [])
    except ScenarioError as exc:  # the file named, as a scenario file's errors name theirs
        raise ScenarioError(f"{path}: {exc}") from None


def load_demand(path: str | Path) -> Demand:
    """A demand file (YAML with an ``archetypes`` list), built."""
    data = _read_demand_file(path)
    why = "a demand file is a mapping with an 'archetypes' list"
    if isinstance(data, dict) and data and set(data) <= set(SCENARIO_DEMAND_FIELDS):
        why += (
            "; this one holds the scenario fields --write-scenario writes: give it to "
            "estimate, plan or factory --demand"
        )
    return _archetypes_file(data, path, why)


def demand_fields(path: str | Path) -> dict[str, Any]:
    """The Scenario demand fields of a ``--demand`` file: a demand file's, built
    (:meth:`Demand.scenario_fields`), or those of a file ``tokenfab demand --write-scenario``
    wrote, as written (the command that takes them validates each).

    Raises
    ------
    ScenarioError
        Neither kind: a mapping with other fields (a full scenario file: ``--scenario``), or
        not a mapping.
    """
    data = _read_demand_file(path)
    if isinstance(data, dict) and "archetypes" not in data and data:
        other = sorted(set(data) - set(SCENARIO_DEMAND_FIELDS))
        if other:
            raise ScenarioError(
                f"{path}: {other[0]}: not a demand field; {DEMAND_FILE}. A scenario file "
                "goes to --scenario"
            )
        return dict(data)
    return _archetypes_file(data, path, DEMAND_FILE).scenario_fields()


def analyse(request: Any) -> Demand:
    """The demand of a :class:`tokenfab.schema.DemandRequest` (or a mapping of its fields):
    its archetypes list, one archetype's users, or its file."""
    from tokenfab.schema import DemandRequest

    req = DemandRequest.parse(request)
    entries = req.entries()
    return build(entries) if entries is not None else load_demand(req.file)
