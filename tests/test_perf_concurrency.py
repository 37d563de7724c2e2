"""Closed-loop client concurrency as a Scenario field (``concurrency``): the batch, TPOT and
TTFT a benchmark's ``--max-concurrency`` clients see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import ScenarioError
from tokenfab.perf import serving as sv
from tokenfab.perf.operating import estimate, resolve
from tokenfab.scenario import Scenario

BASE = dict(model="llama-3.1-8b", accelerator="h100-sxm", input_tokens=1024, output_tokens=128)


def _closed_loop_by_hand(clients: float, tp: int = 1) -> float:
    setup = resolve(Scenario(**BASE))
    return float(
        sv.closed_loop_ttft_s(
            setup.shape,
            setup.hw,
            setup.engine.engine,
            sv.layout(tp),
            setup.weight_bytes_per_param,
            setup.kv_bytes_per_element,
            clients,
            1024,
            128,
            setup.engine.frontend_s,
            setup.engine.first_wave_share,
        )
    )


def test_concurrency_sets_the_batch_and_the_ttft():
    # 64 clients on one H100 (Llama-3.1-8B BF16 holds ~200 sequences of 1,024 + 128 tokens):
    # all 64 are in flight, TPOT is that of batch 64, and TTFT is the closed-loop cohort wait
    # (7 prompts a step, one step each: test_perf_serving.py)
    op = estimate(Scenario(**BASE, concurrency=64))
    fixed = estimate(Scenario(**BASE, batch_size=64))
    assert op.batch_size == 64
    assert_allclose(op.tpot_s, fixed.tpot_s, rtol=1e-12)
    assert_allclose(op.ttft_s, _closed_loop_by_hand(64), rtol=1e-12)
    # the wait is what the closed loop adds to the prompt's own time in the busy engine
    assert_allclose(op.queue_wait_s, op.ttft_s - fixed.ttft_s, rtol=1e-9)


def test_clients_spread_over_replicas():
    # 64 clients on 8 H100s: the search keeps the most throughput per accelerator; each of its
    # replicas holds 64 / replicas clients
    op = estimate(Scenario(**BASE, accelerators=8, concurrency=64))
    assert op.batch_size == 64 // op.replicas
    assert_allclose(op.ttft_s, _closed_loop_by_hand(64 / op.replicas, op.tensor_parallel))


def test_clients_beyond_memory_wait_for_a_slot():
    # 4,096 clients, far more than one H100 holds (b): the b in flight see the closed-loop TTFT
    # T; the others wait (4,096 - b) / b requests, each T + 127 TPOT long (Little's law)
    op = estimate(Scenario(**BASE, concurrency=4096))
    b = op.batch_size
    assert b == op.max_batch_size < 4096
    own = _closed_loop_by_hand(b)
    request = own + 127 * op.tpot_s
    assert_allclose(op.ttft_s, own + (4096 - b) / b * request, rtol=1e-9)


def test_more_clients_never_shorten_the_ttft():
    ttft = [estimate(Scenario(**BASE, concurrency=c)).ttft_s for c in (1, 4, 16, 64, 256, 1024)]
    assert np.all(np.diff(ttft) >= 0)


@pytest.mark.parametrize(
    "other",
    [
        {"batch_size": 8},
        {"tokens_per_day": 1e9},
        {"requests_per_second": 2.0},
        {"disaggregated": True},
        # a separate prefill pool was run at its full batch, the clients ignored: 10 clients
        # on 8 x H100 decoding + 2 x B200 prefilling reported batch 690 and 24 requests/s,
        # where 10 clients can keep at most 10 sequences in flight
        {"prefill_accelerator": "b200"},
    ],
)
def test_concurrency_refuses_a_second_load(other):
    with pytest.raises(ScenarioError, match=r"^concurrency: ") as exc:
        Scenario.parse({**BASE, "concurrency": 8, **other})
    assert f"drop {next(iter(other))}" in str(exc.value) or "tokens_per_day" in str(exc.value)


def test_the_sampled_pipeline_models_the_closed_loop_as_the_estimate_does():
    # was refused; now each sample's batch and TTFT follow perf.operating.closed_loop
    # (vector = scalar over every key: tests/test_pipeline.py)
    from tokenfab.pipeline import evaluate
    from tokenfab.planning import evaluate as scalar

    sc = Scenario(**BASE, concurrency=8)
    one, want = evaluate(sc), scalar(sc).as_dict()
    for key in ("batch_size", "ttft_s", "tpot_s", "output_tok_s_total"):
        assert one.kpis[key][0] == pytest.approx(want[key], rel=1e-12), key


def test_cli_estimate_takes_concurrency():
    tokenfab = Path(sys.executable).parent / "tokenfab"
    env = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
    args = ["estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]
    args += ["--input-tokens", "1024", "--output-tokens", "128", "--concurrency", "64", "--json"]
    r = subprocess.run([str(tokenfab), *args], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["batch_size"] == 64
    assert_allclose(out["ttft_s"], _closed_loop_by_hand(64), rtol=1e-6)
