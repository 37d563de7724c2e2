"""The headline of `estimate` and the grouped rejections of `plan`."""

from __future__ import annotations

import re

import pytest

from tokenfab.planning import evaluate, options_table, plan
from tokenfab.render import headline, rejection_groups
from tokenfab.scenario import Scenario


@pytest.fixture(scope="module")
def est():
    return evaluate(
        Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8, precision="fp8")
    )


def test_headline_states_the_estimates_own_figures(est):
    d = est.as_dict()
    line = headline(est)
    assert "\n" not in line
    m = re.fullmatch(
        r"\$(\S+) per 1M output tokens on (\d+) x H100 SXM5 80GB in region us, (\S+) gCO2e per "
        r"1M output tokens, at TTFT (\S+) ms, TPOT (\S+) ms",
        line,
    )
    assert m, line
    # each figure is the estimate's own, to the 3 significant figures shown
    assert float(m[1]) == pytest.approx(d["cost_usd_per_mtok_output"], rel=5e-3)
    assert int(m[2]) == d["accelerators_needed"]
    assert float(m[3]) == pytest.approx(d["co2e_g_per_mtok"], rel=5e-3)
    assert float(m[4]) == pytest.approx(d["ttft_s"] * 1e3, rel=5e-3)
    assert float(m[5]) == pytest.approx(d["tpot_s"] * 1e3, rel=5e-3)


def test_rejections_are_grouped_by_reason():
    sc = Scenario(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        tokens_per_day=2e9,
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    )
    rows = options_table(plan(sc))
    rejected = [r for r in rows if not r["feasible"]]
    groups = rejection_groups(rejected)
    # every rejected option is in exactly one group
    assert sum(len(g["options"]) for g in groups) == len(rejected)
    # far fewer lines than options (was one line per option, 28 of 32 for a missing price)
    assert len(groups) <= len(rejected) / 2
    # largest first
    sizes = [len(g["options"]) for g in groups]
    assert sizes == sorted(sizes, reverse=True)
    # a missing purchase price is one reason, whatever the accelerator
    price = [g for g in groups if "no sourced purchase price" in g["example"]]
    assert len(price) == 1
    assert len(price[0]["options"]) == sum(
        "no sourced purchase price" in r["reason"] for r in rejected
    )


def test_catalog_text_is_printed_as_written_not_as_markup():
    from rich.console import Console

    from tokenfab.catalog import default_catalog
    from tokenfab.render import catalog_table

    rec = default_catalog().accelerator("h100-sxm")
    odd = rec.model_copy(update={"source": "[bold]datasheet[/] p. [3]"})
    console = Console(record=True, width=400)
    console.print(catalog_table("accelerators", [odd], sources=True))
    assert "[bold]datasheet[/] p. [3]" in console.export_text()
