"""The queueing warning of ``tokenfab estimate`` (tokenfab.render.queue_note)."""

from __future__ import annotations

from tokenfab import Scenario
from tokenfab.planning import evaluate
from tokenfab.render import queue_note

BASE = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}


def test_a_demand_sized_with_no_ttft_target_warns_when_the_queue_is_most_of_the_ttft():
    # 1,000 requests/s with no TTFT target: the cheapest fleet carries the peak at ~100 % of
    # its capacity, and the M/D/1 wait of a saturated replica dwarfs the prefill (minutes
    # against tens of ms); the estimate used to print that TTFT with no word of why
    est = evaluate(Scenario(**BASE, requests_per_second=1000))
    d = est.as_dict()
    assert d["queue_wait_s"] > d["ttft_s"] - d["queue_wait_s"]  # the case the note is for
    note = queue_note(est)
    assert note is not None and note.startswith("queueing: ") and "--ttft-slo-s" in note


def test_no_warning_with_a_ttft_target_or_without_a_queue():
    # a TTFT target bounds the wait (the sizing adds replicas); a fixed fleet with no demand
    # has no queue at all
    assert queue_note(evaluate(Scenario(**BASE, requests_per_second=1000, ttft_slo_s=1))) is None
    assert queue_note(evaluate(Scenario(**BASE))) is None
