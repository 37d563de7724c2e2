"""Host (non-accelerator) power of a node in the IT power (tokenfab.hostpower, cost.it_power_w)."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab import factory as fc
from tokenfab.catalog import default_catalog
from tokenfab.cost import (
    HOST_IDLE_SHARE_OF_MAX,
    average_power_w,
    default_cost_inputs,
    it_power_w,
    serving_power_w,
)
from tokenfab.errors import ScenarioError
from tokenfab.hostpower import fallback_host_share, host_power_table, host_power_w
from tokenfab.kpis import HOURS_PER_MONTH
from tokenfab.planning import evaluate
from tokenfab.scenario import Scenario


@pytest.fixture(scope="module")
def cat():
    return default_catalog()


def test_each_row_is_the_system_max_less_its_accelerators_tdp_per_accelerator():
    # host_power_w = (system max - n x TDP) / n, as the notes write out: DGX H100
    # (10,200 - 8 x 700) / 8 = 575 W, DGX B200 (14,300 - 8 x 1,000) / 8 = 787.5 W,
    # DGX A100 (6,500 - 8 x 400) / 8 = 412.5 W; a Jetson module counts its CPU in its TDP: 0
    rows = host_power_table()
    assert rows["h100-sxm"].host_power_w == 575.0
    assert rows["b200"].host_power_w == 787.5
    assert rows["a100-sxm-80gb"].host_power_w == 412.5
    for r in rows.values():
        n = r.accelerators_per_system
        if n > 1:
            want = (r.system_max_power_w - n * r.accelerator_tdp_w) / n
            assert_allclose(r.host_power_w, want, atol=0.05), r.id
        assert r.source and r.as_of


def test_the_table_tdp_matches_the_accelerators_catalog(cat):
    # the arithmetic used the catalog's TDP: a changed TDP must change the row too
    for r in host_power_table().values():
        assert cat.accelerator(r.id).tdp_w == r.accelerator_tdp_w, r.id


def test_the_table_is_read_from_the_package_data():
    path = Path(str(resources.files("tokenfab").joinpath("data/host_power.csv")))
    with path.open() as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    assert sorted(ids) == sorted(host_power_table())


def test_an_accelerator_without_a_system_gets_the_median_share_times_its_tdp(cat):
    # tokenfab's estimate: median of host / TDP over the sourced rows of the same form.
    # Servers: A100 412.5/400 = 1.031, H100 and H200 575/700 = 0.821, B200 0.7875,
    # B300 712.5/1,100 = 0.648 -> 0.821; an MI300X (750 W, 8-GPU platform) gets
    # 0.821 x 750 = 616.1 W. NVL72 racks: GB200 466.7/1,200 = 0.389, GB300 286.1/1,400 =
    # 0.204 -> 0.297; Rubin (2,300 W, 72-GPU domain) gets 0.297 x 2,300 = 682.3 W
    assert fallback_host_share() == pytest.approx(575 / 700)
    assert host_power_w(cat.accelerator("mi300x")) == pytest.approx(575 / 700 * 750)
    assert fallback_host_share(True) == pytest.approx((466.7 / 1200 + 286.1 / 1400) / 2)
    assert host_power_w(cat.accelerator("rubin")) == pytest.approx(682.3, abs=0.05)
    # no published TDP: no host figure either (energy stays unavailable, as before)
    assert host_power_w(cat.accelerator("tpu-v6e")) == 0.0


def test_it_power_by_hand():
    # H100 drawing 309.7 W with its 575 W host share: 309.7 + 575 (0.5 + 0.5 x 309.7 / 700)
    # = 309.7 + 287.5 + 127.2 = 724.4 W; idle GPU (80.5 W): 80.5 + 287.5 + 33.1 = 401.1 W;
    # at TDP: 700 + 575 = 1,275 W, the DGX H100's 10.2 kW over 8
    assert HOST_IDLE_SHARE_OF_MAX == 0.5
    assert_allclose(it_power_w(309.7, 700.0, 575.0), 724.4, atol=0.05)
    assert_allclose(it_power_w(80.5, 700.0, 575.0), 401.1, atol=0.05)
    assert_allclose(it_power_w(700.0, 700.0, 575.0), 10_200 / 8)
    # no published TDP (zero): no draw at all, not a host floor
    assert it_power_w(0.0, 0.0, 575.0) == 0.0


def test_it_power_is_linear_so_averaging_before_or_after_agrees():
    # average_power_w then it_power_w == it_power_w of busy and idle, then averaged
    busy, idle, u = np.array([250.0, 700.0]), 80.5, np.array([0.3, 0.9])
    a = it_power_w(average_power_w(busy, idle, u), 700.0, 575.0)
    b = average_power_w(it_power_w(busy, 700.0, 575.0), it_power_w(idle, 700.0, 575.0), u)
    assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("field", ["accelerator_power_w", "host_power_w", "host_idle_share"])
def test_bad_input_names_the_field(field):
    kw = {"accelerator_power_w": 300.0, "tdp_w": 700.0, "host_power_w": 575.0}
    kw[field] = -1.0
    with pytest.raises(ScenarioError, match=rf"^{field}:"):
        it_power_w(**kw)


def test_estimate_power_energy_and_carbon_by_hand(cat):
    # Llama 3.1 8B on 4 H100s, region us: the GPU's average draw from the operating point,
    # plus 575 W host share (half at idle, rising with the GPU's draw); facility = IT x PUE;
    # energy = facility x 730 h / 1000; carbon = energy x the grid's g/kWh
    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", accelerators=4, region="us")
    est = evaluate(sc, cat)
    inputs = default_cost_inputs(cat)
    op, u = est.op, est.utilization
    busy = float(
        serving_power_w(
            700.0,
            inputs.idle_power_share_of_tdp,
            op.hbm_busy_share,
            op.compute_busy_share,
            inputs.memory_power_share,
            inputs.compute_power_share,
        )
    )
    gpu = float(average_power_w(busy, 700.0 * inputs.idle_power_share_of_tdp, u))
    it = gpu + 575.0 * (0.5 + 0.5 * gpu / 700.0)
    d = est.as_dict()
    region = cat.region("us")
    assert_allclose(d["power_w"], 4 * it, rtol=1e-12)
    assert_allclose(d["facility_power_w"], 4 * it * region.pue, rtol=1e-12)
    kwh = 4 * it * region.pue * HOURS_PER_MONTH / 1000
    assert_allclose(d["energy_kwh_per_month"], kwh, rtol=1e-12)
    assert_allclose(d["co2e_kg_per_month"], kwh * region.grid_co2e_g_per_kwh / 1000, rtol=1e-12)
    # the GPU-only KPI stays the board alone while serving (what ML.ENERGY measures)
    assert_allclose(
        d["gpu_joules_per_output_token"], busy / d["output_tok_s_per_accelerator"], rtol=1e-9
    )
    # invariants: facility >= IT >= the accelerators' own draw
    assert d["facility_power_w"] >= d["power_w"] >= 4 * gpu


def test_the_electricity_line_prices_the_host_too(cat):
    # bought: power cost an hour = IT draw x PUE / 1000 x $/kWh
    est = evaluate(
        Scenario(model="llama-3.1-8b", accelerator="h100-sxm", accelerators=1, region="us"), cat
    )
    region = cat.region("us")
    per_acc = float(est.kpis.power_w)
    want = per_acc * region.pue / 1000 * region.electricity_usd_per_kwh
    assert_allclose(est.cost.lines["power"], want, rtol=1e-12)


def test_factory_accelerators_per_mw_before_and_after():
    # 1 GW of GB300 at PUE 1.56 (region us): at TDP alone 1e9 / 1.56 / 1,400 = 457,875 GPUs;
    # with the rack's 286.1 W a GPU of Grace CPUs, switch trays and power shelves,
    # 1e9 / 1.56 / 1,686.1 = 380,182
    f = fc.factory(1000.0, "gb300", ownership="rent")
    assert_allclose(f.accelerators, 1e9 / 1.56 / 1686.1, rtol=1e-12)
    assert_allclose(f.accelerators, 380_182, rtol=1e-5)
    assert pytest.approx(457_875, rel=1e-5) == 1e9 / 1.56 / 1400  # the old count
    # H100: 100 MW / 1.56 / (700 + 575) = 50,276 (was 91,575 at 700 W)
    h = fc.factory(100.0, "h100-sxm")
    assert_allclose(h.accelerators, 100e6 / 1.56 / 1275, rtol=1e-12)
    # invariant: the facility's average draw stays within its power
    assert h.facility_average_w <= 100e6 * (1 + 1e-12)


def test_the_pipeline_sample_keeps_the_scalar_power():
    # the vectorised path adds the same host share: its one-sample power equals the estimate's
    from tokenfab import pipeline

    sc = Scenario(model="llama-3.1-8b", accelerator="b200", accelerators=8, region="us")
    est = evaluate(sc)
    r = pipeline.evaluate(sc, {})
    assert_allclose(r.kpis["power_w"][0], float(est.kpis.power_w), rtol=1e-9)
    assert_allclose(
        r.kpis["gpu_joules_per_output_token"][0],
        float(est.kpis.gpu_joules_per_output_token),
        rtol=1e-9,
    )


def test_a_users_host_power_row_wins_over_the_built_in_one(tmp_path):
    # an operator whose immersion-cooled 8 x H100 node draws 8.8 kW at most states
    # (8,800 - 8 x 700) / 8 = 400 W a GPU in a --catalog directory's host_power.csv; the
    # built-in DGX H100 row (575 W) once won whatever the directory said
    src = Path(str(resources.files("tokenfab").joinpath("data/host_power.csv")))
    with src.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    row = dict.fromkeys(header, "")
    row |= {
        "id": "h100-sxm",
        "system": "immersion-cooled HGX H100 node",
        "accelerators_per_system": "8",
        "system_max_power_w": "8800",
        "accelerator_tdp_w": "700",
        "host_power_w": "400",
        "source": "operator's metered node maximum (test fixture)",
        "as_of": "2026-11-01",
    }
    with (tmp_path / "host_power.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, header)
        w.writeheader()
        w.writerow(row)
    mine = default_catalog([str(tmp_path)])
    assert host_power_w(mine.accelerator("h100-sxm")) == 400.0
    assert host_power_w(default_catalog().accelerator("h100-sxm")) == 575.0
    # the fallback share is the median of the catalog's own servers: H100's 400/700 = 0.571
    # replaces 575/700 = 0.821 among DGX A100 1.031, H200 0.821, B200 0.7875, B300 0.648,
    # so the median of the five is 0.7875 (B200's) and MI300X (750 W, no row) gets 590.6 W
    assert_allclose(host_power_w(mine.accelerator("mi300x")), 0.7875 * 750, rtol=1e-12)
    # the estimate's IT power: the same GPU draw with a 400 W host share, by hand as above
    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", accelerators=1, region="us")
    base, ours = evaluate(sc, default_catalog()).as_dict(), evaluate(sc, mine).as_dict()
    gpu = (base["power_w"] - 575.0 * 0.5) / (1 + 575.0 * 0.5 / 700.0)
    assert_allclose(ours["power_w"], gpu + 400.0 * (0.5 + 0.5 * gpu / 700.0), rtol=1e-9)
