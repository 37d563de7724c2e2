"""A commented scenario template: every Scenario field with its description, the ids checked
against the catalogs, and a ``projection:`` block with each assumption's default source.

The help text is the Scenario's own field descriptions (one schema for the CLI, the HTTP API
and this file), so the template cannot disagree with what ``estimate`` accepts.
"""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from tokenfab.catalog import Catalog
from tokenfab.projection import ProjectionInputs
from tokenfab.scenario import Scenario

DEMAND_TOKENS_PER_DAY = 1e9
"""The template's example demand: a billion output tokens a day (an example to edit, not a
figure about any deployment)."""

_EXAMPLES: dict[str, Any] = {
    "accelerators": 8,
    "tensor_parallel": 8,
    "pipeline_parallel": 1,
    "attention_data_parallel": 1,
    "expert_parallel": 8,
    "moe_tensor_parallel": 1,
    "gpu_memory_utilization": 0.9,
    "precision": "fp8",
    "kv_precision": "fp8",
    "fp8_scales": "per_tensor",
    "software": "vllm",
    "software_licence": "nvidia-ai-enterprise",
    "steps_per_task": 10,
    "prefix_cache_hit_rate": 0.5,
    "acceptance_rate": 0.7,
    "batch_size": 64,
    "requests_per_second": 10,
    "utilization": 0.6,
}
"""Example values shown on commented lines (the template sets none of them)."""

_PROJECTION_NOTES = {
    "years": "5",
    "start_year": "this year",
    "demand_growth_per_year": "market.yaml 'jevons' growth of the workload's segment",
    "api_price_decline_per_year": "fitted to the catalog's API price chain of the segment",
    "rental_price_decline_per_year": "fitted to the rentals catalog's price history",
    "electricity_change_per_year": "0.02, EIA Short-Term Energy Outlook, January 2025",
    "successor": "the vendor's next family in the catalog with a price",
    "generation_path": "model (or vendor-claims: seed 002's roadmap claims)",
    "distributions": "sourced spreads of the API price decline and a one-number demand growth",
}


def _comment(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, 92 - len(indent))]


def _value(v: Any) -> str:
    """A YAML scalar; a large float in exponent form YAML 1.1 reads as a float (``1.0e+9``)."""
    if isinstance(v, float) and abs(v) >= 1e6:
        mantissa, exponent = f"{v:.1e}".split("e")
        return f"{mantissa}e{exponent[0]}{int(exponent[1:])}"
    return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()


def scenario_template(request: Any, catalog: Catalog) -> str:
    """The template text for ``request`` (a :class:`tokenfab.schema.ScenarioNewRequest`).

    Raises
    ------
    CatalogError
        An unknown model, accelerator, workload or region id (with the nearest ids).
    """
    catalog.model(request.model)
    catalog.accelerator(request.accelerator)
    work = catalog.workload(request.workload)
    catalog.region(request.region)
    given: dict[str, Any] = {
        "model": request.model,
        "accelerator": request.accelerator,
        "workload": request.workload,
        "tokens_per_day": DEMAND_TOKENS_PER_DAY,
        "region": request.region,
    }
    from_workload = {
        "input_tokens": work.input_tokens,
        "output_tokens": work.output_tokens,
        "reasoning_tokens": work.reasoning_tokens,
        "ttft_slo_s": work.ttft_slo_s,
        "tpot_slo_s": work.tpot_slo_s,
    }
    lines = [
        "# tokenfab scenario, written by `tokenfab scenario new`.",
        "# Check it:   tokenfab estimate --scenario THIS_FILE",
        "# Then:       tokenfab project THIS_FILE | tokenfab roadmap THIS_FILE | "
        "tokenfab narrative THIS_FILE",
        "# Every field is listed with its meaning and unit; uncomment a line to set it. A field",
        f"# left out takes its default or the workload's value ({request.workload}).",
        f"# The demand below is an example ({DEMAND_TOKENS_PER_DAY:.0e} output tokens a day): "
        "set yours.",
    ]
    for name, info in Scenario.model_fields.items():
        lines.append("")
        lines += _comment(info.description or name)
        if name in given:
            lines.append(f"{name}: {_value(given[name])}")
            continue
        example = from_workload.get(name)
        if example is None:
            default = info.get_default()
            example = default if default is not None else _EXAMPLES.get(name)
        shown = "" if example is None else f" {_value(example)}"
        lines.append(f"# {name}:{shown}")
    lines += [
        "",
        "# Assumptions of `tokenfab project` (and the risks of `tokenfab narrative`). A rate",
        "# is one number a year or a list with one number for each year after year 0. Each",
        "# field left out takes the default named here, whose source the output prints.",
        "projection:",
    ]
    for name, info in ProjectionInputs.model_fields.items():
        text = info.description or name
        if "(default" not in text:
            text += f" (default: {_PROJECTION_NOTES[name]})"
        lines += _comment(text, "  ")
        if name == "years":
            lines.append("  years: 5")
        else:
            lines.append(f"  # {name}:")
    return "\n".join(lines) + "\n"
