"""Scenario validation: every numeric field refuses inf, nan and values outside its declared
range with one line naming the field and the range (break one field of a valid scenario each)."""

from __future__ import annotations

import math
import re

import pytest

from tokenfab.errors import FileInputError, ScenarioError
from tokenfab.scenario import MAX_TOKENS_PER_DAY, Scenario, allowed_range

VALID = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}


def _numeric_fields() -> list[str]:
    return [n for n in Scenario.model_fields if allowed_range(n) is not None]


def _bound(text: str) -> float:
    return float(text.removeprefix("above ").removeprefix("below "))


NUMERIC = _numeric_fields()


def test_the_valid_fixture_is_valid():
    # no count given: sized from a demand, else 1 (planning.operating_point)
    assert Scenario.parse(VALID).accelerators is None


def test_every_numeric_field_declares_a_finite_range():
    # Fields typed int or float: each must have both ends, so no value can overflow the model.
    numeric_types = {int, float}
    typed = [
        n
        for n, f in Scenario.model_fields.items()
        if f.annotation in numeric_types
        or any(a in numeric_types for a in getattr(f.annotation, "__args__", ()))
    ]
    assert set(typed) <= set(NUMERIC), set(typed) - set(NUMERIC)
    for name in NUMERIC:
        low, high = allowed_range(name).split(" to ")
        assert low != "any" and high != "any", name
        assert math.isfinite(_bound(high)), name
        # the description states the range, so --help shows it
        assert "[" in (Scenario.model_fields[name].description or ""), name


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("bad", ["inf", "-inf", "nan", "above", "below"])
def test_a_numeric_field_out_of_range_is_one_line(name, bad):
    low, high = (t for t in allowed_range(name).split(" to "))
    if bad == "above":
        value = _bound(high) * 10 + 1
    elif bad == "below":
        value = _bound(low) / 10 - 1 if _bound(low) > 0 else -1
    else:
        value = float(bad)
    with pytest.raises(ScenarioError) as exc:
        Scenario.parse({**VALID, name: value})
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{name}: ")
    assert f"allowed: {allowed_range(name)}" in msg


@pytest.mark.parametrize("name", NUMERIC)
def test_each_end_of_a_closed_range_is_accepted(name):
    low, high = allowed_range(name).split(" to ")
    # the fields another one needs: a draft for its acceptance rate, a demand for its peak
    extra = {
        "speculative_tokens": {"acceptance_rate": 0.5},
        "acceptance_rate": {"speculative_tokens": 1},
        "peak_to_average": {"tokens_per_day": 1e6},
        "prefill_accelerators": {"prefill_accelerator": "b200"},
        "kv_link_gb_s": {"prefill_accelerator": "b200"},
    }.get(name, {})
    for end in (low, high):
        if end.startswith(("above", "below")):
            continue
        value = _bound(end)
        if isinstance(Scenario.model_fields[name].default, int) or "int" in str(
            Scenario.model_fields[name].annotation
        ):
            value = int(value)
        if name == "requests_per_second" and value > 1:
            continue  # with the default output tokens the daily volume may exceed its own bound
        needs = extra if value or name != "speculative_tokens" else {}  # 0 drafts: no rate
        assert getattr(Scenario.parse({**VALID, **needs, name: value}), name) == value


def test_tokens_per_day_range_ends():
    # 1e30 and 1e-300 were once taken as given and gave a negative int64 fleet and $1e307/Mtok
    for v in (1e30, 1e-300):
        with pytest.raises(ScenarioError, match=re.escape("allowed: 1 to 1e+16")):
            Scenario.parse({**VALID, "tokens_per_day": v})


def test_request_rate_times_output_is_bounded_like_tokens_per_day():
    # 1e8 requests/s x 2000 tokens x 86,400 s = 1.7e16 output tokens a day, over 1e16
    with pytest.raises(ScenarioError, match=r"requests_per_second: .* output tokens a day"):
        Scenario.parse({**VALID, "requests_per_second": 1e8, "output_tokens": 2000})
    ok = Scenario.parse({**VALID, "requests_per_second": 1e3, "output_tokens": 2000})
    assert ok.requests_per_second * 2000 * 86_400 < MAX_TOKENS_PER_DAY


def test_a_huge_int_is_refused_not_overflowed():
    with pytest.raises(ScenarioError, match=r"^accelerators: 9{30} is out of range"):
        Scenario.parse({**VALID, "accelerators": int("9" * 30)})


def test_from_yaml_names_the_file_and_the_field(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: .inf\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3: tokens_per_day: inf is not a finite"):
        Scenario.from_yaml(p)


def test_from_yaml_refuses_an_alias_bomb_fast(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text('a: &a ["x","x","x"]\nb: &b [*a,*a,*a]\nmodel: *b\n')
    with pytest.raises(FileInputError, match=r"bomb\.yaml:2: YAML aliases"):
        Scenario.from_yaml(p)


def test_from_yaml_refuses_a_large_file_by_size(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"# padding\n" * 200_000)  # 2 MB, over the 1 MB cap
    with pytest.raises(
        FileInputError, match=r"big\.yaml: scenario file is larger than the 1\.0 MB"
    ):
        Scenario.from_yaml(p)


def test_ownership_api_is_refused_not_priced_as_nothing():
    # `estimate --ownership api` once exited 0 with "Money KPIs unavailable: ownership: 'api'
    # is not allowed here"; the API price is always shown beside a buy or rent estimate
    with pytest.raises(
        ScenarioError, match=r"^ownership: 'api' is not allowed; allowed: buy, rent$"
    ):
        Scenario.parse({"model": "llama-3.1-8b", "accelerator": "h100-sxm", "ownership": "api"})
