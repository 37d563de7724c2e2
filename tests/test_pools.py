"""Heterogeneous prefill/decode pools priced (tokenfab.pools) and as `tokenfab estimate` runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.cost import average_power_w, default_cost_inputs, serving_power_w
from tokenfab.errors import ScenarioError
from tokenfab.hostpower import host_power_w
from tokenfab.kpis import HOURS_PER_MONTH
from tokenfab.planning import evaluate
from tokenfab.scenario import Scenario
from tokenfab.schema import EstimateResult

TOKENFAB = Path(sys.executable).parent / "tokenfab"
ENV = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
CHAT = dict(
    model="llama-3.1-70b",
    accelerator="h200-sxm",
    prefill_accelerator="b200",
    workload="chat",
    tokens_per_day=1e10,
)


@pytest.fixture(scope="module")
def est():
    return evaluate(Scenario(**CHAT))


def test_cost_is_the_sum_of_both_pools(est):
    # each pool costs (its count) x (its own accelerator-hour); the month is 730 h of both
    d = est.as_dict()
    p, q = est.pools.prefill, est.pools.decode
    assert_allclose(p.cost_usd_per_hour, p.accelerators * p.cost.total_usd_per_hour, rtol=1e-12)
    assert_allclose(
        d["monthly_cost_usd"],
        (d["prefill_cost_usd_per_hour"] + d["decode_cost_usd_per_hour"]) * HOURS_PER_MONTH,
        rtol=1e-12,
    )
    assert d["accelerators"] == d["prefill_accelerators"] + d["decode_accelerators"]
    assert_allclose(
        d["cost_usd_per_accelerator_hour"] * d["accelerators"],
        p.cost_usd_per_hour + q.cost_usd_per_hour,
        rtol=1e-12,
    )
    # the B200 is dearer ($35,000 vs $27,000 in the catalog), so its accelerator-hour is too
    assert p.cost.total_usd_per_hour > q.cost.total_usd_per_hour


def test_power_is_the_sum_of_both_pools_each_at_its_own_activity(est):
    # a pool draws serving_power_w at its own memory/compute activity for its utilisation,
    # the idle floor otherwise; IT power is the two pools' sum
    inputs = default_cost_inputs(default_catalog())
    d = est.as_dict()
    for pool, pc in (
        (est.pools.point.prefill, est.pools.prefill),
        (est.pools.point.decode, est.pools.decode),
    ):
        tdp = pc.accelerator.tdp_w
        busy = serving_power_w(
            tdp,
            inputs.idle_power_share_of_tdp,
            pool.hbm_busy_share,
            pool.compute_busy_share,
            inputs.memory_power_share,
            inputs.compute_power_share,
        )
        avg = average_power_w(busy, tdp * inputs.idle_power_share_of_tdp, pc.utilization)
        # plus the host's share of the node, half its maximum at idle rising to all of it at
        # TDP (tokenfab.cost.it_power_w; B200 and H100 host shares 787.5 and 575 W)
        host = host_power_w(pc.accelerator)
        it = float(avg) + host * (0.5 + 0.5 * float(avg) / tdp)
        assert_allclose(pc.power_w, pc.accelerators * it, rtol=1e-12)
        assert pc.power_w >= pc.accelerators * float(avg)
    assert_allclose(d["power_w"], d["prefill_power_w"] + d["decode_power_w"], rtol=1e-12)
    # tokens per joule: the average output over both pools' facility power
    region = default_catalog().region("us")
    assert_allclose(d["tokens_per_joule"], (1e10 / 86_400) / (d["power_w"] * region.pue), rtol=1e-9)


def test_prompt_tokens_carry_the_prefill_pool_cost(est):
    # cost per Mtok input x prompt Mtok/h + cost per Mtok output x output Mtok/h = $/h of both
    # pools at this utilisation, the prefill pool's share falling on prompt tokens
    d = est.as_dict()
    out_mtok_h = d["output_tok_s_total"] * d["utilization"] * 3600 / 1e6
    in_mtok_h = d["input_tok_s"] * d["utilization"] * 3600 / 1e6
    assert_allclose(
        d["cost_usd_per_mtok_input"] * in_mtok_h, d["prefill_cost_usd_per_hour"], rtol=1e-9
    )
    assert_allclose(
        d["cost_usd_per_mtok_output"] * out_mtok_h, d["decode_cost_usd_per_hour"], rtol=1e-9
    )


def test_every_key_is_documented_and_single_type_estimates_leave_them_null(est):
    EstimateResult.from_estimate(est)  # raises on an undocumented key
    one = evaluate(Scenario(model="llama-3.1-8b", accelerator="h100-sxm")).as_dict()
    assert one["prefill_accelerator"] is None and one["kv_transfer_s"] is None


def test_embodied_carbon_counts_both_pools(est):
    # each pool's footprint spread over the same tokens: the sum of the two per-pool figures
    from tokenfab.carbon import embodied_co2e_g_per_mtok, embodied_table

    life = default_cost_inputs(default_catalog()).useful_life_years
    d = est.as_dict()
    want = 0.0
    for pc in (est.pools.prefill, est.pools.decode):
        row = embodied_table()[pc.accelerator.id]
        want += float(
            embodied_co2e_g_per_mtok(
                row.accelerator_kgco2e + row.host_kgco2e,
                life,
                d["utilization"],
                d["output_tok_s_total"] / pc.accelerators,
            )
        )
    assert_allclose(d["embodied_co2e_g_per_mtok"], want, rtol=1e-12)


def test_commands_without_pools_refuse_them_in_one_line():
    from tokenfab.perf.operating import estimate

    with pytest.raises(ScenarioError, match=r"^prefill_accelerator: .* estimate"):
        estimate(Scenario(**CHAT))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOKENFAB), *args], capture_output=True, text=True, env=ENV, timeout=300
    )


def test_cli_estimate_shows_both_pools():
    base = ["estimate", "--model", "llama-3.1-70b", "--accelerator", "h200-sxm"]
    base += ["--prefill-accelerator", "b200", "--workload", "chat", "--tokens-per-day", "1e10"]
    r = _run(*base, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["prefill_accelerator"] == "b200" and d["accelerator"] == "h200-sxm"
    assert d["accelerators"] == d["prefill_accelerators"] + d["decode_accelerators"]
    text = _run(*base)
    assert text.returncode == 0, text.stderr
    assert "(prefill) +" in text.stdout and "Prefill and decode pools" in text.stdout
    bad = _run(*base[:5], "--prefill-accelerator", "mi300x", "--software", "trtllm")
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0
    assert "prefill_accelerator: mi300x: software: trtllm runs on NVIDIA" in bad.stderr
    orphan = _run(
        "estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm", "--kv-link-gb-s", "100"
    )
    assert (
        orphan.returncode != 0
        and "kv_link_gb_s: describes a separate prefill pool" in orphan.stderr
    )


def test_cli_frontier_of_the_pair():
    # `frontier` with a prefill accelerator draws the pair's frontier, labelled prefill+decode
    r = _run(
        "frontier",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "h100-sxm",
        "--prefill-accelerator",
        "b200",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    points = json.loads(r.stdout)["points"]
    assert points and {p["accelerator"] for p in points} == {"b200+h100-sxm"}
    speeds = [p["tok_s_per_user"] for p in points]
    assert speeds == sorted(speeds)


def test_pools_title_adds_the_ttft_up_with_its_queueing_wait():
    # Llama 3.1 70B FP8, prefill on B200, decode on H100, 2e9 output tokens a day: the pools
    # table once said "TTFT = prefill 58.3 ms + KV transfer 3.28 ms" under a TTFT of 115 ms;
    # the 53.7 ms spent queueing for the prefill pool (65% busy) was missing. Invariant: the
    # parts the title names add up to the TTFT it states, and that is the estimate's ttft_s.
    import re

    from tokenfab import render

    est = evaluate(
        Scenario(
            model="llama-3.1-70b",
            accelerator="h100-sxm",
            prefill_accelerator="b200",
            precision="fp8",
            tokens_per_day=2e9,
        )
    )
    d = est.as_dict()
    assert d["queue_wait_s"] > 0.01  # the case where it mattered
    title = str(render.pools_table(est).title)
    parts = re.search(
        r"TTFT ([\d.]+) ms = queueing ([\d.]+) ms \+ prefill ([\d.]+) ms \+ KV transfer "
        r"([\d.]+) ms",
        title,
    )
    assert parts, title
    total, wait, prefill, transfer = (float(x) for x in parts.groups())
    assert_allclose(total, d["ttft_s"] * 1e3, rtol=5e-3)
    assert_allclose(wait + prefill + transfer, total, rtol=5e-3)
