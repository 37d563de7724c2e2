"""The memory panel of ``tokenfab estimate`` and the memory lines of its refusals: one unit."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from tokenfab import Scenario
from tokenfab.errors import InfeasibleError
from tokenfab.perf.calibration import GIB, capacity_label
from tokenfab.perf.operating import estimate
from tokenfab.planning import evaluate
from tokenfab.render import estimate as estimate_panel


def test_capacity_is_given_in_the_unit_of_the_weights_and_kv_it_holds():
    # Llama 3.1 405B BF16 at TP 16 on H100s: weights 812 GB / 16 = 50.7 GB, KV 27.3 GB, reserve
    # 4.0 GB: 82.0 GB, which the panel set beside "capacity 80 GB" (the catalog's 80 is binary:
    # the model holds 80 x 2^30 = 85.9e9 bytes, perf.calibration.GIB)
    est = evaluate(
        Scenario(
            model="llama-3.1-405b",
            accelerator="h100-sxm",
            accelerators=16,
            tensor_parallel=16,
        )
    )
    d = est.as_dict()
    held = d["weights_gb_per_accelerator"] + d["kv_gb_per_accelerator"]
    held += d["reserve_gb_per_accelerator"]
    assert held > 80.0  # the case: more than the "80" read as decimal GB
    console = Console(width=200, record=True)
    console.print(estimate_panel(est))
    text = console.export_text()
    cap = re.search(r"capacity\s+(\d+) GiB = ([\d.]+) GB", text)
    assert cap is not None, text
    assert float(cap.group(2)) == pytest.approx(80 * GIB / 1e9, abs=0.05)  # 85.9
    assert held <= float(cap.group(2))  # what the accelerator holds fits its capacity


def test_refusal_states_the_capacity_in_the_unit_of_the_weights():
    # "812 GB of weights ... needs at least 16 x h100-sxm (80 GB each)" set decimal weights beside
    # a binary capacity; both are decimal GB now, with the catalog's GiB beside
    assert capacity_label(80) == "80 GiB = 85.9 GB"
    with pytest.raises(InfeasibleError) as exc:
        estimate(Scenario(model="llama-3.1-405b", accelerator="h100-sxm"))
    assert "(812 GB of weights" in str(exc.value)
    assert "needs at least 16 x h100-sxm (80 GiB = 85.9 GB each); got 1" in str(exc.value)
