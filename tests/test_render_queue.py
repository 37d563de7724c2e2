"""The queueing warning of ``tokenfab estimate`` (tokenfab.render.queue_note)."""

from __future__ import annotations

from tokenfab import Scenario
from tokenfab.planning import evaluate
from tokenfab.render import queue_note

BASE = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}


def test_a_demand_sized_with_no_ttft_target_warns_when_the_queue_is_most_of_the_ttft():
    # 1,000 requests/s with no TTFT target: the fleet is sized to keep the mean M/D/1 wait
    # within DEFAULT_QUEUE_WAIT_S = 2 s (it used to carry the peak at ~100 % of its capacity
    # and wait minutes); the wait is still most of a TTFT whose prefill takes tens of ms, and
    # the note says so and why
    est = evaluate(Scenario(**BASE, requests_per_second=1000))
    d = est.as_dict()
    assert d["queue_wait_s"] > d["ttft_s"] - d["queue_wait_s"]  # the case the note is for
    assert d["queue_wait_s"] <= 2.0
    note = queue_note(est)
    assert note is not None and note.startswith("queueing: ") and "--ttft-slo-s" in note
    assert "within 2 s" in note


def test_a_fixed_fleet_near_saturation_warns_with_its_load():
    # 4 A100s given for 1.2148e9 output tokens a day (14,060.2 tok/s, 14.06 requests/s of 1,000
    # output tokens) of Llama 3.1 8B: they carry the peak at 99.85 % of their capacity (4
    # replicas of one A100 at batch 223, 3,520.45 tok/s each = 14,081.8 tok/s, 14.08 requests/s,
    # with the block-scaled FP8 refit: 14,060.2 / 14,081.8 = 0.99846), where the M/D/1 wait is
    # 0.99846 x (1,000 / 3,520.45 = 0.28405 s) / (2 x 0.00154) = 92.3 s of a 92.4 s TTFT: the
    # note names the count and the load, and how to size instead. (The case was 1.2229e9 at
    # 14.18 requests/s after the all-reduce and per-kernel refit of 2026-12-01, 1.2654e9 at
    # 14.65 after the collective-latency refit before it, 1.0395e9 at 12.05 before that.)
    est = evaluate(
        Scenario(
            model="llama-3.1-8b",
            accelerator="a100-sxm-80gb",
            accelerators=4,
            tokens_per_day=1.2148e9,
        )
    )
    d = est.as_dict()
    assert d["queue_wait_s"] > 10.0
    note = queue_note(est)
    assert note is not None and "the 4 accelerators given" in note and "99.85%" in note
    assert "omit --accelerators" in note


def test_no_warning_with_a_ttft_target_or_without_a_queue():
    # a TTFT target bounds the wait (the sizing adds replicas); a fixed fleet with no demand
    # has no queue at all
    assert queue_note(evaluate(Scenario(**BASE, requests_per_second=1000, ttft_slo_s=1))) is None
    assert queue_note(evaluate(Scenario(**BASE))) is None


def test_the_json_and_the_http_api_carry_the_warning_lines_the_cli_prints():
    # `estimate` prints its warnings under the table; `--json` and POST /api/v1/estimate
    # carry the same lines in `warnings`, so a browser user sees the queueing warning too
    import json
    import warnings

    from typer.testing import CliRunner

    from tokenfab import cli
    from tokenfab.api import create_app

    with warnings.catch_warnings():  # starlette's TestClient notes that httpx2 exists
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    args = ["estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]
    args += ["--requests-per-second", "1000"]
    text = CliRunner().invoke(cli.app, args, terminal_width=400)
    assert text.exit_code == 0, text.output
    body = {**BASE, "requests_per_second": 1000}
    api = TestClient(create_app()).post("/api/v1/estimate", json=body).json()
    cli_json = json.loads(CliRunner().invoke(cli.app, [*args, "--json"]).stdout)
    assert api["warnings"] == cli_json["warnings"]
    lines = api["warnings"].split("\n")  # newline-separated: the object stays flat
    assert lines[0].startswith("queueing: ")
    printed = " ".join(text.output.split())
    for line in lines:
        assert " ".join(line.split()) in printed
    quiet = TestClient(create_app()).post("/api/v1/estimate", json=BASE).json()
    assert "queueing" not in (quiet["warnings"] or "")
