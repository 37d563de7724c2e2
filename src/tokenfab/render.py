"""Terminal rendering with rich: tables and panels of results computed elsewhere."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tokenfab.catalog import TABLES, Catalog, Record
from tokenfab.perf.calibration import capacity_label
from tokenfab.words import plural

# Columns shown per catalog (all columns are in --json; --sources adds provenance).
DISPLAY: dict[str, list[str]] = {
    "accelerators": [
        "id",
        "vendor",
        "status",
        "memory_gb",
        "memory_bandwidth_tb_s",
        "bf16_dense_tflops",
        "fp8_dense_tflops",
        "fp4_dense_tflops",
        "scaleup_bandwidth_gb_s",
        "tdp_w",
        "price_usd",
    ],
    "models": [
        "id",
        "kind",
        "attention",
        "num_layers",
        "hidden_size",
        "num_kv_heads",
        "num_experts",
        "experts_per_token",
        "max_context_tokens",
        "total_params_b",
        "active_params_b",
    ],
    "regions": [
        "id",
        "name",
        "electricity_usd_per_kwh",
        "grid_co2e_g_per_kwh",
        "grid_co2e_year",
        "renewable_share",
        "pue",
    ],
    "api-prices": [
        "id",
        "provider",
        "model_name",
        "input_usd_per_mtok",
        "output_usd_per_mtok",
        "batch_output_usd_per_mtok",
        "effective_date",
    ],
    "rentals": [
        "id",
        "provider",
        "accelerator_id",
        "on_demand_usd_per_accelerator_hour",
        "reserved_usd_per_accelerator_hour",
        "location",
    ],
    "tiers": [
        "id",
        "name",
        "usd_per_mtok",
        "output_tok_s_per_user_min",
        "output_tok_s_per_user_max",
        "share_of_power",
    ],
    "workloads": [
        "id",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "steps_per_task",
        "ttft_slo_s",
        "tpot_slo_s",
    ],
    "software": [
        "id",
        "memory_utilization",
        "kv_memory_fraction",
        "max_num_tokens",
        "max_batch_size",
    ],
    "efficiency": [
        "id",
        "compute_efficiency",
        "bw_efficiency",
        "comm_efficiency",
        "overhead_ms",
        "rows_fitted",
        "cv_median_abs_error",
    ],
    "cost-assumptions": ["id", "value", "unit", "description"],
    "host-power": [
        "id",
        "system",
        "accelerators_per_system",
        "system_max_power_w",
        "accelerator_tdp_w",
        "host_power_w",
    ],
    "closed-loop": ["id", "frontend_ms", "requests_per_client"],
    "gpu-measurements": [
        "id",
        "kind",
        "model_id",
        "dtype",
        "m_tokens",
        "batch",
        "time_s",
        "achieved_tflops",
        "achieved_tb_s",
    ],
}


LONG_NUMBER = 1e15
"""From here on :func:`fmt` writes a number in exponent form (16 digits are past reading)."""


def fmt(value: Any) -> str:
    """A compact human form of a number (3 significant figures, thousands separated; from
    1e15 on, or not finite, in exponent form: 1.12e+299, not a 300-digit number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) < LONG_NUMBER else f"{value:.3g}"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if not abs(value) < LONG_NUMBER:  # also inf and nan
            return f"{value:.3g}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


def fixed(value: float, decimals: int = 0) -> str:
    """A number with ``decimals`` places, thousands separated, in exponent form from 1e15 on.

    >>> fixed(1234.56, 1), fixed(3.7e40, 1)
    ('1,234.6', '3.7e+40')
    """
    if abs(value) < LONG_NUMBER:
        return f"{value:,.{decimals}f}"
    return f"{value:.3g}"


def power(watts: float) -> str:
    """Electrical power in the unit that keeps it short: W below 1 kW, kW to 1 decimal below
    1 MW, then MW, then GW (10 million H100s drew "4,829,316.7 kW", now "4.83 GW"; a 40 W
    Jetson module drew "0.0 kW", now "40 W").

    >>> power(40.4), power(4_600.0), power(2.5e6), power(4.8293e9)
    ('40 W', '4.6 kW', '2.5 MW', '4.83 GW')
    """
    if abs(watts) < 1e3:
        return f"{watts:.0f} W"
    if abs(watts) < 1e6:
        return f"{watts / 1e3:,.1f} kW"
    if abs(watts) < 1e9:
        return f"{watts / 1e6:.3g} MW" if abs(watts) < 1e8 else f"{fixed(watts / 1e6)} MW"
    return f"{watts / 1e9:.3g} GW" if abs(watts) < 1e11 else f"{fixed(watts / 1e9)} GW"


def money(usd: float) -> str:
    """Dollars in the unit that fits the magnitude, 3 significant figures: a 10 kW factory
    earns "$2.21M", not "$0.0B" (a fixed billions column wrote it so).

    >>> money(0.0), money(55.2), money(4_321.0), money(2.2147e6), money(3.2e9), money(4.1e12)
    ('$0', '$55.2', '$4,321', '$2.21M', '$3.2B', '$4.1T')
    """
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(usd) >= scale:
            x = usd / scale  # under 1,000 but for trillions, which stay in T
            return f"${x:.3g}{unit}" if abs(x) < 1000 else f"${fixed(x)}{unit}"
    if abs(usd) >= 1e3:
        return f"${usd:,.0f}"
    return "$0" if usd == 0 else f"${usd:.3g}"


def pct(value: float) -> str:
    """A share as a whole percentage, in exponent form from 1,000x on (a margin of
    -1e299 is ``-1e+301%``, not a 300-digit number).

    >>> pct(0.4), pct(-12.5), pct(-1e299)
    ('40%', '-1250%', '-1e+301%')
    """
    if abs(value) < 1e3:
        return f"{value:.0%}"
    return f"{value * 100:.3g}%"


def catalog_overview(cat: Catalog) -> Table:
    t = Table(title="tokenfab catalogs", title_justify="left")
    for col in ("catalog", "rows", "newest as_of", "file"):
        t.add_column(col, justify="right" if col == "rows" else "left")
    for name, spec in TABLES.items():
        records = cat.table(name)
        newest = max((r.as_of for r in records.values()), default=None)
        t.add_row(name, str(len(records)), str(newest or ""), spec.filename)
    return t


def _cell(column: str, value: Any) -> str:
    """A catalog cell: years as written (2024, not 2,024), other numbers by :func:`fmt`."""
    if column.endswith("_year") and isinstance(value, int):
        return str(value)
    return fmt(value)


def catalog_table(name: str, records: list[Record], sources: bool) -> Table:
    cols = list(DISPLAY.get(name, ["id"]))
    if sources:
        cols = ["id", "source", "as_of"]
    t = Table(title=TABLES[name].title, title_justify="left", show_lines=sources)
    for c in cols:
        t.add_column(
            c, overflow="fold", justify="left" if c in ("id", "source", "name") else "right"
        )
    for r in records:  # Text: a source such as "[PDF] p. [3]" is printed as written, not as markup
        t.add_row(*(Text(_cell(c, getattr(r, c, None))) for c in cols))
    return t


def stale_table(rows: list[Any], months: float, today: Any) -> Table:
    """Rows older than ``months`` at ``today`` (from :func:`tokenfab.catalog.stale_rows`)."""
    t = Table(
        title=f"Rows with as_of more than {months:g} months before {today}: {len(rows)}",
        title_justify="left",
    )
    for col in ("catalog", "id", "as_of", "retrieved", "age (months)"):
        t.add_column(col, justify="right" if col == "age (months)" else "left")
    for r in rows:
        t.add_row(r.table, r.id, str(r.as_of), str(r.retrieved or ""), f"{r.age_months:.1f}")
    return t


def _kv_table(rows: list[tuple[str, str]], title: str) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    t.add_column("", style="bold")
    t.add_column("", justify="right")
    for k, v in rows:
        t.add_row(k, v)
    return t


def _band_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    """The error-band line of an estimate (none when the catalog has no bands)."""
    if d.get("tpot_s_low") is None or d.get("output_tok_s_total_low") is None:
        return []
    share = f"{d['error_band_coverage']:.0%}"
    rows = [
        (
            f"{share} band ({d['error_band_basis'].split(' (')[0]})",
            f"TPOT {d['tpot_s_low'] * 1e3:.1f}–{d['tpot_s_high'] * 1e3:.1f} ms, output "
            f"{fmt(d['output_tok_s_total_low'])}–{fmt(d['output_tok_s_total_high'])} tok/s",
        )
    ]
    if d.get("error_band_note"):  # a user calibration without its own band: said, not hidden
        rows.append(("band source", d["error_band_note"]))
    return rows


def weights_label(setup: Any) -> str:
    """The weight format in a panel title: ``fp8 weights``, or ``fp8 weights (block-scaled)``
    where the model's published FP8 checkpoint scales its weights per block (models.csv
    ``fp8_checkpoint_block``), which on a chip without block-scale tensor cores takes its own
    compute efficiency (``docs/method.md`` 6.1)."""
    block = getattr(setup.engine, "block_scaled", False)
    return f"{setup.precision} weights" + (" (block-scaled)" if block else "")


def operating_point(op: Any) -> Panel:
    d = op.as_dict()
    s = op.setup
    head = (
        f"{s.model.name} on {d['accelerators']:,} x {s.accelerator.name} — {weights_label(s)}, "
        f"{d['kv_precision']} KV, {d['software']}"
        + (
            ""
            if d["calibrated"]
            else f" (uncalibrated family: borrows {s.engine.borrowed_id})"
            if getattr(s.engine, "borrowed_id", None)
            else " (uncalibrated family: median efficiencies)"
        )
    )
    dp = d.get("attention_data_parallel", 1)
    pools = (
        f" ({d['prefill_replicas']:,} prefill + {d['decode_replicas']:,} decode)"
        if d.get("prefill_replicas")
        else ""
    )
    layout = (
        f"TP {d['tensor_parallel']} x PP {d['pipeline_parallel']} x EP {d['expert_parallel']}"
        + (f" (attention DP {dp})" if dp > 1 else "")
        + f", {d['replicas']:,} replica(s){pools}, batch {d['batch_size']:,} of max "
        f"{d['max_batch_size']:,}"
    )
    perf = _kv_table(
        [
            ("layout", layout),
            ("tokens in / out a request", f"{d['input_tokens']:,} / {d['output_tokens']:,}"),
            ("output tok/s (total)", fmt(d["output_tok_s_total"])),
            ("output tok/s per accelerator", fmt(d["output_tok_s_per_accelerator"])),
            ("output tok/s per user", fmt(d["output_tok_s_per_user"])),
            (
                "prompt tok/s served / prefilled",
                f"{fmt(d['input_tok_s'])} / {fmt(d['prefill_tok_s'])}",
            ),
            ("time to first token", _ttft(d["ttft_s"])),
            ("time per output token", f"{d['tpot_s'] * 1e3:.1f} ms"),
            *_band_rows(d),
            ("requests/s", fmt(d["requests_per_second"])),
            ("bound", d["bound"]),
            (
                "roofline (efficiency 1)",
                f"{fmt(d['roofline_output_tok_s_total'])} tok/s — estimate is "
                f"{d['roofline_fraction']:.0%} of it",
            ),
        ],
        "Operating point",
    )
    mem = _kv_table(
        [
            ("weights", f"{d['weights_gb_per_accelerator']:.1f} GB"),
            ("KV cache budget", f"{d['kv_gb_per_accelerator']:.1f} GB"),
            ("runtime reserve", f"{d['reserve_gb_per_accelerator']:.1f} GB"),
            ("capacity", capacity_label(s.accelerator.memory_gb)),
        ],
        "Memory per accelerator",
    )
    parts: list[Any] = [perf, "", mem]
    extra = getattr(op, "kpis", None)
    if extra is not None:
        parts += ["", extra]
    return Panel(Group(*parts), title=head, title_align="left")


def frontier_table(model: str, f: Any) -> Table:
    t = Table(
        title=f"Pareto frontier: {model} on {f.accelerator} ({f.precision})", title_justify="left"
    )
    cols = ("output tok/s per user", "output tok/s per accelerator", "TP", "PP", "EP", "DP")
    for c in (*cols, "batch"):
        t.add_column(c, justify="right")
    for r in f.rows():
        dp = r["attention_data_parallel"]
        t.add_row(
            fmt(r["tok_s_per_user"]),
            fmt(r["tok_s_per_accelerator"]),
            str(r["tensor_parallel"]),
            str(r["pipeline_parallel"]),
            str(r["expert_parallel"]),
            "-" if dp is None else str(dp),
            str(r["batch_size"]),
        )
    return t


def kpi_table(est: Any) -> Table:
    d = est.as_dict()
    all_in = all_cost_per_mtok_output(est)
    rows = [
        (
            "cost per accelerator-hour",
            f"${d['cost_usd_per_accelerator_hour']:.2f} ({d['ownership']}: {d['cost_basis']})",
        ),
        (
            "cost per 1M tokens in / out / blended",
            f"${fmt(d['cost_usd_per_mtok_input'])} / ${fmt(d['cost_usd_per_mtok_output'])} / "
            f"${fmt(d['cost_usd_per_mtok_blended'])} (out: {OUTPUT_COST_BASIS})",
        ),
        (
            "cost per 1M output tokens, all in",
            "-" if all_in is None else f"${fmt(all_in)} ({ALL_COST_BASIS}, as project counts it)",
        ),
        (
            "cost per request / per task",
            f"${fmt(d['cost_usd_per_request'])} / ${fmt(d['cost_usd_per_task'])}",
        ),
        _sizing_row(d),
        ("monthly cost", f"${d['monthly_cost_usd']:,.0f}"),
        *_energy_rows(d),
    ]
    versus_api = api_comparison(d)
    if versus_api is not None:
        rows.append(("cheapest API for this model", versus_api))
    return _kv_table(rows, "The eight KPIs")


def api_comparison(d: dict[str, Any]) -> str | None:
    """The cheapest API beside the self-hosted cost, like with like: both per 1M tokens blended
    over the workload's own mix of prompt and output tokens (the API's bill of a request over
    its prompt + output tokens; the deployment's cost an hour over the tokens it serves), and
    which is cheaper by how much. ``None`` where no API offers the model.

    A cost per output token beside a blended price misleads: with 6,000 prompt tokens to 300
    output, Llama 3.1 70B on 8 x H100 costs $2.81 per 1M output tokens (decode's share) and
    $0.311 per 1M tokens blended, and the cheapest API is $0.88 blended -- self-hosting is
    0.88 / 0.311 = 2.83x cheaper, not 2.81 / 0.88 = 3.2x dearer.

    >>> api_comparison({"api_usd_per_mtok_blended": 0.88, "api_provider": "Together AI",
    ...     "cost_usd_per_mtok_blended": 0.3113, "input_tokens": 6000, "output_tokens": 300})
    '$0.88 per 1M tokens blended (Together AI) against $0.311 self-hosted, both at 6,000 prompt / 300 output tokens a request: self-hosting 2.83x cheaper'
    """
    api = d.get("api_usd_per_mtok_blended")
    if api is None:
        return None
    line = f"${_sig(api)} per 1M tokens blended ({d['api_provider']})"
    own = d.get("cost_usd_per_mtok_blended")
    if own is None:  # no price for the deployment: nothing to compare
        return line
    line += (
        f" against ${_sig(own)} self-hosted, both at {d['input_tokens']:,} prompt / "
        f"{d['output_tokens']:,} output tokens a request"
    )
    if own <= 0 or api <= 0 or own == api:
        return line + (": the same" if own == api else "")
    ratio, word = (api / own, "cheaper") if own < api else (own / api, "dearer")
    return f"{line}: self-hosting {_sig(ratio)}x {word}"


def _energy_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    if d.get("power_w") is None:  # a rental whose power is not public (energy_error)
        return [("energy and carbon", "not available: the accelerator's power is not public")]
    return [
        (
            "power (IT / facility)",
            f"{power(d['power_w'])} / {power(d['facility_power_w'])}",
        ),
        (
            "tokens per joule",
            f"{d['tokens_per_joule']:.3g} (output tok/s per MW drawn: {fmt(d['output_tok_s_per_mw'])})",
        ),
        ("energy per month", f"{fmt(d['energy_kwh_per_month'])} kWh"),
        (
            "carbon",
            f"{fmt(d['co2e_kg_per_month'])} kg CO2e a month, "
            f"{fmt(d['co2e_g_per_mtok'])} g per 1M output tokens ({d['region']})",
        ),
        _embodied_row(d),
    ]


def _embodied_row(d: dict[str, Any]) -> tuple[str, str]:
    """Manufacturing emissions per 1M output tokens beside the operational figure
    (tokenfab.carbon; None where the catalog has no footprint for the accelerator)."""
    emb = d.get("embodied_co2e_g_per_mtok")
    if emb is None:
        return (
            "embodied carbon",
            "not known: no product carbon footprint for this accelerator (embodied_carbon.csv)",
        )
    return (
        "embodied carbon",
        f"{fmt(emb)} g per 1M output tokens (manufacturing over the service life), "
        f"{fmt(d.get('total_co2e_g_per_mtok'))} g with the operational",
    )


def _sizing_row(d: dict[str, Any]) -> tuple[str, str]:
    return (
        "accelerators needed",
        f"{d['accelerators_needed']:,} at {d['utilization']:.0%} average utilisation",
    )


def energy_table(est: Any) -> Table:
    d = est.as_dict()
    return _kv_table([_sizing_row(d), *_energy_rows(d)], "Energy and carbon")


def _ttft(t: float) -> str:
    """TTFT in whole ms below a second, else in seconds (17,515 s, not 17,515,018 ms)."""
    if t < 1:
        return f"{t * 1e3:,.0f} ms"
    return f"{t:.3g} s" if t < 1000 else f"{fixed(t)} s"


def _sig(x: float) -> str:
    """3 significant figures below 1,000, whole and thousands-separated above (1,011, not
    1.01e+03).

    >>> _sig(0.2251), _sig(49.24), _sig(1011.4), _sig(2.5e6)
    ('0.225', '49.2', '1,011', '2,500,000')
    """
    return f"{x:.3g}" if abs(x) < 1000 else fixed(x)


def _seconds(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{_sig(t)} s"


OUTPUT_COST_BASIS = "prompts charged separately"
"""What ``cost_usd_per_mtok_output`` counts, in a label: the accelerator-time decode takes, with
the prompt's prefill charged to input tokens (as an API's output price)."""
ALL_COST_BASIS = "all cost over output tokens"
"""What project's, roadmap's and narrative's $ per 1M output tokens count, in a label: a
request's whole cost (prefill included) over its output tokens."""


def all_cost_per_mtok_output(est: Any) -> float | None:
    """All of a request's cost over its output tokens [USD/Mtok], as project, roadmap and
    narrative count it: ``cost_usd_per_request x 1e6 / output_tokens``; None without a cost.

    For ``examples/chat-llama-70b-h100.yaml``: $3.14 per 1M output tokens with the prompts
    charged separately is $5.41 with all the cost over the 300 output tokens a request.
    """
    per_request = est.as_dict().get("cost_usd_per_request")
    if per_request is None:
        return None
    return float(per_request) * 1e6 / est.op.setup.output_tokens


def headline(est: Any) -> str:
    """The answer in one line: cost and carbon per 1M output tokens, the fleet, the latencies,
    and, where an API offers the model, the blended cost against the API's blended price (an
    API's price is quoted blended; beside a cost per output token it would compare unlike with
    unlike, see :func:`api_comparison`).

    ``$0.24 per 1M output tokens, prompts charged separately ($0.319 all cost over output
    tokens) on 8 x H100 SXM5 80GB in region us, 95.9 gCO2e per 1M output tokens, at TTFT
    200 ms, TPOT 84.5 ms; $0.16 per 1M tokens blended against the cheapest API's $0.88
    (Together AI)`` (README's tour) -- or, without a price, what is missing. The first figure
    is ``cost_usd_per_mtok_output`` (an API's output price is counted so); the second
    (:func:`all_cost_per_mtok_output`) is the one project, roadmap and narrative print.
    """
    d = est.as_dict()
    s = est.op.setup
    count = d.get("accelerators_needed") or d["accelerators"]
    where = f"on {count:,} x {s.accelerator.name} in region {d['region']}"
    if getattr(est, "pools", None) is not None:
        p = est.pools.prefill
        where = (
            f"on {p.accelerators:,} x {p.accelerator.name} (prefill) + "
            f"{d['decode_accelerators']:,} x {s.accelerator.name} (decode) in region {d['region']}"
        )
    latency = f"at TTFT {_seconds(d['ttft_s'])}, TPOT {_seconds(d['tpot_s'])}"
    cost = d.get("cost_usd_per_mtok_output")
    co2 = d.get("co2e_g_per_mtok")
    money = (
        f"${_sig(cost)} per 1M output tokens, {OUTPUT_COST_BASIS} "
        f"(${_sig(all_cost_per_mtok_output(est))} {ALL_COST_BASIS})"
        if cost is not None
        else "cost unavailable"
    )
    carbon = f"{_sig(co2)} gCO2e per 1M output tokens" if co2 is not None else "carbon unavailable"
    if co2 is None and getattr(est, "energy_error", None):
        carbon = "carbon not available (power not public)"
    line = f"{money} {where}, {carbon}, {latency}"
    if cost is None:
        return f"{line} ({est.cost_error})"
    api = d.get("api_usd_per_mtok_blended")
    own = d.get("cost_usd_per_mtok_blended")
    if api is not None and own is not None:  # like with like: blended against blended
        line += (
            f"; ${_sig(own)} per 1M tokens blended against the cheapest API's ${_sig(api)} "
            f"({d['api_provider']})"
        )
    return line


def queue_note(est: Any) -> str | None:
    """A warning when waiting in the queue is most of the TTFT and no TTFT target bounded it.

    Sized for a demand without ``ttft_slo_s``, the fleet keeps the mean wait at the peak within
    :data:`tokenfab.sizing.DEFAULT_QUEUE_WAIT_S` (before it did not, and 1,000 requests/s of
    Llama 3.1 8B on H100s waited 5 minutes); a fleet of the ``accelerators`` given can still
    run near saturation, where the M/D/1 wait grows without bound.
    """
    from tokenfab.sizing import DEFAULT_QUEUE_WAIT_S

    d = est.as_dict()
    wait = d.get("queue_wait_s") or 0.0
    service = d["ttft_s"] - wait
    sc = est.op.setup.scenario
    if wait <= service or sc.ttft_slo_s is not None or sc.concurrency is not None:
        return None
    load = min(d["utilization"] * est.scenario.peak_to_average, 1.0)  # at the peak
    if sc.accelerators is None:
        why = (
            f"with no TTFT target the fleet is sized to keep the mean queueing wait within "
            f"{DEFAULT_QUEUE_WAIT_S:g} s (MLPerf's Llama 2 70B Server TTFT limit); give "
            "--ttft-slo-s (or a --workload with targets) to size it for a shorter TTFT"
        )
    else:
        why = (
            f"the {plural(sc.accelerators, 'accelerator')} given carry the peak at {load:.2%} of their "
            "capacity; add accelerators, or omit --accelerators to size the fleet"
        )
    return f"queueing: {_seconds(wait)} of the {_seconds(d['ttft_s'])} TTFT is waiting in the queue: {why}"


def concurrency_note(est: Any) -> str | None:
    """A warning when closed-loop clients (``concurrency``) exceed the sequences the replicas
    hold at once (batch x replicas): the rest wait for a free slot, and that wait is in the
    TTFT (100,000 clients of Llama 3.1 8B on one H100 wait 17,515 s of a 17,515 s TTFT)."""
    sc = est.op.setup.scenario
    if sc.concurrency is None:
        return None
    d = est.op.as_dict()
    replicas = d.get("decode_replicas") or d["replicas"]  # with two pools: the decode pool's
    in_flight = d["batch_size"] * replicas
    waiting = sc.concurrency - in_flight
    if waiting <= 0:
        return None
    share = f"{waiting / sc.concurrency:.0%}" if waiting >= 0.005 * sc.concurrency else "<1%"
    return (
        f"concurrency: {sc.concurrency:,} closed-loop clients exceed the {in_flight:,} "
        f"sequences in flight ({replicas:,} replica(s) x maximum batch "
        f"{d['max_batch_size']:,}): {waiting:,} ({share}) wait in the "
        f"queue, {_ttft(d.get('queue_wait_s') or 0.0)} of the {_ttft(d['ttft_s'])} TTFT; "
        "lower --concurrency or add accelerators"
    )


def pools_table(est: Any) -> Table:
    """The two pools of a heterogeneous deployment side by side: size, layout, utilisation,
    power and cost, and the TTFT's two parts."""
    d = est.as_dict()
    pools, hp = est.pools, est.pools.point
    # the TTFT's parts add up to the TTFT the table above shows: with a demand the queueing
    # wait is one of them (it once read "TTFT = prefill 58.3 ms + KV transfer 3.28 ms" under a
    # TTFT of 115 ms, 53.7 ms of it waiting)
    wait = d.get("queue_wait_s") or 0.0
    queued = f"queueing {_seconds(wait)} + " if wait > 0 else ""
    t = Table(
        title=f"Prefill and decode pools (TTFT {_seconds(d['ttft_s'])} = {queued}prefill "
        f"{_seconds(d['prefill_s'])} + KV transfer {_seconds(d['kv_transfer_s'])} at "
        f"{d['kv_link_gb_s']:g} GB/s, {hp.kv_link_basis})",
        title_justify="left",
    )
    for c in ("pool", "accelerator", "count", "layout", "rate / replica", "util", "power", "$/h"):
        t.add_column(c, justify="left" if c in ("pool", "accelerator", "layout") else "right")
    for pc, pool, unit in (
        (pools.prefill, hp.prefill, "prompt"),
        (pools.decode, hp.decode, "output"),
    ):
        tp, pp, ep, _, _ = pool.layout
        cost = pc.cost_usd_per_hour
        t.add_row(
            pc.role,
            pc.accelerator.id,
            f"{pc.accelerators:,}",
            f"TP{tp} PP{pp} EP{ep} x {pool.replicas:,}",
            f"{fmt(pool.tok_s_per_replica)} {unit} tok/s",
            f"{pc.utilization:.0%}",
            "n/a" if pc.power_w is None else power(pc.power_w),
            "n/a" if cost is None else f"${cost:,.2f}",
        )
    return t


def estimate(est: Any) -> Panel:
    panel = operating_point(est.op)
    group = panel.renderable
    if getattr(est, "pools", None) is not None:
        group = Group(group, "", pools_table(est))
        p, s = est.pools.prefill, est.op.setup
        panel = Panel(
            group,
            title=f"{s.model.name}: prefill on {p.accelerators:,} x {p.accelerator.name}, decode on "
            f"{est.pools.decode.accelerators:,} x {s.accelerator.name} — {weights_label(s)}, "
            f"{s.kv_precision} KV, {s.engine.software}",
        )
    if est.kpis is None:
        note = Text.assemble(
            ("Cost, energy and carbon KPIs unavailable: ", "yellow"), est.cost_error
        )
        return Panel(Group(group, "", note), title=panel.title, title_align="left")
    if est.cost is None:
        note = Text.assemble(("Money KPIs unavailable: ", "yellow"), est.cost_error)
        return Panel(
            Group(group, "", energy_table(est), "", note), title=panel.title, title_align="left"
        )
    if getattr(est, "energy_error", None):
        note = Text.assemble(("Energy and carbon KPIs not available: ", "yellow"), est.energy_error)
        return Panel(
            Group(group, "", kpi_table(est), "", note), title=panel.title, title_align="left"
        )
    return Panel(Group(group, "", kpi_table(est)), title=panel.title, title_align="left")


def plan_table(sc: Any, rows: list[dict[str, Any]], top: int) -> Group:
    feasible_all = [r for r in rows if r["feasible"]]
    feasible = feasible_all[:top]
    rejected = [r for r in rows if not r["feasible"]]
    summary = (
        f"{len(feasible_all)} of {len(rows)} accelerator x region x buy/rent options meet the "
        "demand and targets"
        + (f"; cheapest: {_cheapest(feasible_all[0])}" if feasible_all else "")
        + (f"; the cheapest {top} shown (--top)" if len(feasible_all) > top else "")
    )
    pools = getattr(sc, "prefill_accelerator", None)
    title = (
        f"Capacity plan: {sc.model}, decode on each accelerator, prefill on {pools} "
        "(count: prefill + decode), cheapest first"
        if pools
        else f"Capacity plan: {sc.model}, cheapest first"
    )
    cols = [
        ("accelerator", "accelerator"),
        ("region", "region"),
        ("own", "ownership"),
        ("prec", "precision"),
        ("TP", "tensor_parallel"),
        ("PP", "pipeline_parallel"),
        ("EP", "expert_parallel"),
        ("DP", "attention_data_parallel"),
        ("count", "accelerators_needed"),
        ("util", "utilization"),
        ("$/acc-h", "cost_usd_per_accelerator_hour"),
        ("$/Mtok\nout", "cost_usd_per_mtok_output"),
        ("$/Mtok", "cost_usd_per_mtok_blended"),
        ("$/month", "monthly_cost_usd"),
        ("TPOT\nms", "tpot_s"),
        ("tok/J", "tokens_per_joule"),
        ("gCO2e/\nMtok", "co2e_g_per_mtok"),
    ]
    # EP and DP are 1 on every row of a dense model: their columns took the room that left
    # the last header "gCO2e/…" at 140 columns; shown when an option uses them
    cols = [
        (label, key)
        for label, key in cols
        if key not in ("expert_parallel", "attention_data_parallel")
        or any((r.get(key) or 1) > 1 for r in feasible)
    ]
    cells_by_row = []
    for r in feasible:
        cells = []
        for _, key in cols:
            v = r.get(key)
            if key == "tpot_s":
                cells.append(f"{v * 1e3:.1f}")
            elif key == "utilization":
                cells.append(f"{v:.0%}")
            elif key.startswith("cost_usd_per_mtok") or key == "cost_usd_per_accelerator_hour":
                # not 0.000 for 0.0004, nor 40316100.000 for one token a day
                cells.append(f"{v:.2g}" if v < 0.01 else f"{v:.3f}" if v < 1e6 else f"{v:.3g}")
            elif key == "accelerator" and not r.get("calibrated", True):
                cells.append(f"{v}*")
            elif key == "accelerators_needed" and r.get("prefill_accelerators") is not None:
                cells.append(f"{r['prefill_accelerators']}+{r['decode_accelerators']}")
            elif v is None and key in ("tokens_per_joule", "co2e_g_per_mtok"):
                cells.append("n/a")  # a rental whose power is not public
            elif isinstance(v, int | float) and abs(v) >= 1e6:
                cells.append(f"{v:.3g}")  # 1.02e+07: 17 columns leave no room for 10,203,791
            else:
                cells.append(fmt(v))
        cells_by_row.append(cells)
    captions = []
    if feasible:
        # one rule on every row, docs/method.md "From hourly cost to dollars per token": each
        # token pays for the accelerator-time its phase takes; a prefill pool moves cost from
        # output to input tokens, so $/Mtok out alone can rank rows unlike their cost
        captions.append(
            f"$/Mtok out: per output token, {OUTPUT_COST_BASIS}: the cost of the "
            "accelerator-time decode takes (colocated: all but the prefill time share; with a "
            "prefill pool: the decode pool); "
            "$/Mtok: all the cost per token, prompt and output; rows rank by $/month"
        )
    if any(not r.get("calibrated", True) for r in feasible):
        captions.append(
            "* uncalibrated family: no published measurement fits it yet; it borrows the "
            "efficiencies of the same architecture's row (accelerators.csv prior_family) or "
            "else the median of its software class (docs/method.md, section 6.1)"
        )
    if any(r.get("co2e_g_per_mtok") is None for r in feasible):
        captions.append(
            "n/a: the accelerator's power is not public, so no energy or carbon figure (the "
            "rent is the cost; its price includes the energy)"
        )
    lic = getattr(sc, "software_licence", None)
    not_charged = list(
        dict.fromkeys(
            m.group(1)
            for r in rows
            for m in re.finditer(
                r"does not (?:apply to|cover) (.+?): not charged", r.get("licence") or ""
            )
        )
    )
    if lic and not_charged:
        # docs/method.md, the cost lines' software row: one licence over many candidates is charged
        # where it applies; the rest are planned without it, not refused
        captions.append(
            f"software_licence {lic}: not charged where it does not apply "
            f"({', '.join(not_charged)}); those options are planned without it"
        )
    t = _FitTable(title, [label for label, _ in cols], cells_by_row, captions)
    if not rejected:
        return Group(Text(summary), t)
    why = Table(
        title=f"Rejected: {plural(len(rejected), 'option')} for "
        f"{plural(len(groups := rejection_groups(rejected)), 'reason')}",
        title_justify="left",
    )
    why.add_column("n", justify="right")
    why.add_column("options")
    why.add_column("why (first example)", overflow="fold")
    for g in groups:
        shown = ", ".join(g["options"][:4])
        more = f" and {len(g['options']) - 4} more" if len(g["options"]) > 4 else ""
        why.add_row(str(len(g["options"])), shown + more, Text(g["example"]))
    return Group(Text(summary), t, "", why)


_TEXT_COLUMNS = ("accelerator", "region", "own", "prec")
# columns left out, in this order, where the console is too narrow for every figure whole
_DROP_ORDER = (
    "DP",
    "EP",
    "PP",
    "util",
    "$/acc-h",
    "TP",
    "tok/J",
    "TPOT\nms",
    "$/Mtok\nout",
    "prec",
    "gCO2e/\nMtok",
    "region",
    "count",
)


class _FitTable:
    """The plan table at the console's width: numeric cells never wrap nor lose a digit
    (no_wrap, as wide as the widest cell); where the console is too narrow for every column
    whole, the columns of :data:`_DROP_ORDER` are left out one by one and named in the
    caption (``--json`` has them all). ``plan`` once folded $103,743.8 a month into
    "103,74" over "4" and its header into "$/mont" over "h" at the CLI's 140 columns."""

    def __init__(
        self, title: str, labels: list[str], rows: list[list[str]], captions: list[str]
    ) -> None:
        self.title, self.labels, self.rows, self.captions = title, labels, rows, captions

    def table(self, keep: list[int], left_out: list[str]) -> Table:
        t = Table(title=self.title, title_justify="left")
        for i in keep:
            label = self.labels[i]
            text = label in _TEXT_COLUMNS
            t.add_column(
                label,
                justify="left" if text else "right",
                no_wrap=not text or label == "accelerator",
                min_width=max((len(r[i]) for r in self.rows), default=0)
                if not text or label == "accelerator"
                else None,
                overflow="fold",
            )
        for r in self.rows:
            t.add_row(*(r[i] for i in keep))
        captions = list(self.captions)
        if left_out:
            names = ", ".join(x.replace("\n", " ") for x in left_out)
            captions.append(f"not shown at this width: {names} (--json has every column)")
        if captions:
            t.caption = "\n".join(captions)
            t.caption_justify = "left"
        return t

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        wide = options.update_width(10_000)  # Measurement.get clamps to the width it is given
        keep = list(range(len(self.labels)))
        left_out: list[str] = []
        t = self.table(keep, left_out)
        for label in _DROP_ORDER:
            if Measurement.get(console, wide, t).minimum <= options.max_width:
                break
            if label in self.labels and self.labels.index(label) in keep:
                keep.remove(self.labels.index(label))
                left_out.append(label)
                t = self.table(keep, left_out)
        yield t


def _cheapest(r: dict[str, Any]) -> str:
    """The plan's first option in the terms it is ranked by: every option serves the same demand,
    so the cheapest a month is the cheapest per token blended. Its output-token price is only
    beside it: the split of a cost between prompt and output tokens follows each option's
    prefill share, so another option can be cheaper per output token and dearer overall."""
    return (
        f"{r['accelerator']} ({r['ownership']}) at ${_sig(r['cost_usd_per_mtok_blended'])} per 1M "
        f"tokens blended (${_sig(r['cost_usd_per_mtok_output'])} per 1M output tokens, "
        f"{OUTPUT_COST_BASIS}), "
        f"${fmt(r['monthly_cost_usd'])} a month"
    )


def rejection_groups(rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rejected plan options grouped by reason, largest group first.

    Two reasons are one when they read the same once the option's own accelerator id and every
    number are blanked and the hint after the first ``;`` is dropped: "h20 has no sourced
    purchase price" and "b300 has no sourced purchase price" are one reason.

    Examples
    --------
    >>> rows = [
    ...     {"accelerator": "h20", "ownership": "buy", "reason": "ownership: h20 has no price; add one"},
    ...     {"accelerator": "b300", "ownership": "buy", "reason": "ownership: b300 has no price; add one"},
    ...     {"accelerator": "l4", "ownership": "rent", "reason": "accelerators: needs 16 x l4"},
    ... ]
    >>> [(len(g["options"]), g["example"]) for g in rejection_groups(rows)]
    [(2, 'ownership: h20 has no price'), (1, 'accelerators: needs 16 x l4')]
    """
    groups: dict[str, dict[str, Any]] = {}
    for r in rejected:
        reason = str(r.get("reason") or "")
        first = reason.split("; ")[0]
        key = re.sub(r"\d+(\.\d+)?", "#", first.replace(str(r["accelerator"]), "\0"))
        g = groups.setdefault(key, {"example": first, "options": []})
        g["options"].append(f"{r['accelerator']} ({r['ownership']})")
    return sorted(groups.values(), key=lambda g: -len(g["options"]))


def breakeven_table(
    title: str, rows: list[dict[str, Any]], summary: list[tuple[str, str]]
) -> Group:
    """Monthly cost of buy, rent and API per daily volume, then crossovers and paybacks."""
    t = Table(title=title, title_justify="left")
    # the weight format where it differs between rows or ownerships (else the title names it)
    formats = {(r.get("precision"), r.get("rent_precision")) for r in rows}
    by_row = len(formats) > 1 or any(b != r for b, r in formats)
    for label in (
        "output tokens/day",
        "accelerators",
        *(("format",) if by_row else ()),
        "buy $/month",
        "rent $/month",
        "API $/month",
        "cheapest",
    ):
        t.add_column(label, justify="left" if label == "cheapest" else "right")
    for r in rows:
        t.add_row(
            f"{r['tokens_per_day']:.0e}",
            fmt(r["accelerators"])
            + (
                f" ({fmt(r['rent_accelerators'])} rented)"
                if r.get("rent_accelerators", r["accelerators"]) != r["accelerators"]
                else ""
            ),
            *(
                (
                    f"{r['precision']}"
                    + (
                        f" ({r['rent_precision']} rented)"
                        if r["rent_precision"] != r["precision"]
                        else ""
                    ),
                )
                if by_row
                else ()
            ),
            fmt(r["buy_usd_per_month"]),
            fmt(r["rent_usd_per_month"]),
            fmt(r["api_usd_per_month"]),
            r["cheapest"],
        )
    s = Table(title="Crossovers and payback", title_justify="left", show_header=False)
    s.add_column("what")
    s.add_column("value", justify="right")
    for what, text in summary:  # BreakevenResult.summary_lines
        s.add_row(what, text)
    return Group(t, "", s)
