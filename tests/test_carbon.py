"""Embodied carbon (tokenfab.carbon)."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from tokenfab import carbon
from tokenfab.errors import ScenarioError
from tokenfab.planning import evaluate
from tokenfab.scenario import Scenario


def test_hgx_h100_pcf_per_gpu():
    # NVIDIA HGX H100 PCF summary: 1,312 kg CO2e per 8-GPU baseboard -> 164 kg a GPU
    assert_allclose(carbon.embodied_table()["h100-sxm"].accelerator_kgco2e, 1312 / 8)


def test_amortisation_hand_check():
    # 354 kg over 5 y (157,680,000 s) at 80% and 100 tok/s: 354e3 g / 12,614.4 Mtok
    assert_allclose(
        carbon.embodied_co2e_g_per_mtok(354.0, 5.0, 0.8, 100.0), 354e3 / 12_614.4, rtol=1e-12
    )


def test_longer_life_and_more_use_lower_the_figure():
    base = carbon.embodied_co2e_g_per_mtok(354.0, 5.0, 0.5, 100.0)
    assert carbon.embodied_co2e_g_per_mtok(354.0, 6.0, 0.5, 100.0) < base
    assert carbon.embodied_co2e_g_per_mtok(354.0, 5.0, 0.9, 100.0) < base


def test_estimate_reports_embodied_beside_operational():
    sc = Scenario.parse(
        {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 8, "precision": "fp8"}
    )
    d = evaluate(sc).as_dict()
    per_acc = d["output_tok_s_total"] / 8
    expected = carbon.embodied_co2e_g_per_mtok(164 + 190, 5.0, d["utilization"], per_acc)
    assert_allclose(d["embodied_co2e_g_per_mtok"], expected, rtol=1e-9)
    assert_allclose(
        d["total_co2e_g_per_mtok"], d["co2e_g_per_mtok"] + d["embodied_co2e_g_per_mtok"], rtol=1e-12
    )


def test_unknown_accelerator_has_no_embodied_figure():
    sc = Scenario.parse({"model": "llama-3.1-8b", "accelerator": "l40s", "accelerators": 1})
    assert evaluate(sc).as_dict()["embodied_co2e_g_per_mtok"] is None


def test_bad_input():
    with pytest.raises(ScenarioError, match=r"^service_life_years:"):
        carbon.embodied_co2e_g_per_mtok(100.0, 0.0, 0.5, 10.0)
