"""Demand builder (tokenfab.demand)."""

from __future__ import annotations

import re

import pytest
from numpy.testing import assert_allclose

from tokenfab import demand as dm
from tokenfab.errors import ScenarioError


def test_coding_agent_hand_check():
    # 100 developers x 5 tasks x 30 steps = 15,000 calls a day
    # input per call: 20,000 + 1,000 x (30 - 1) / 2 = 34,500; output 300 + 10,000 reasoning
    d = dm.build([{"archetype": "coding-agent", "users": 100}])
    a = d.parts[0]
    assert_allclose(a.calls_per_day, 15_000)
    assert_allclose(a.input_tokens_per_call, 34_500)
    assert_allclose(d.tokens_per_day, 15_000 * 10_300)
    # peak: 15,000 / 86,400 x 1.5 = 0.2604 calls/s
    assert_allclose(d.peak_requests_per_s, 15_000 / 86_400 * 1.5, rtol=1e-12)


def test_mix_scenario_fields_are_call_weighted():
    # chat 1,000 users: 2,800 calls of 6,000 in / 300 out; rag 100 users: 1,000 calls of
    # 6,000 in / 300 out (2 calls x 5 questions); batch 1 pipeline: 100,000 calls of 2,000/200
    d = dm.build(
        [
            {"archetype": "chat", "users": 1000},
            {"archetype": "rag", "users": 100},
            {"archetype": "batch", "users": 1},
        ]
    )
    n = 2_800 + 1_000 + 100_000
    f = d.scenario_fields()
    assert f["input_tokens"] == round((3_800 * 6_000 + 100_000 * 2_000) / n)
    assert f["output_tokens"] == round((3_800 * 300 + 100_000 * 200) / n)
    # output tokens a day: 3,800 x 300 + 100,000 x 200 = 21,140,000
    assert_allclose(f["tokens_per_day"], 21_140_000)
    # peak over average of output tokens: (1,140,000 x 2 + 20,000,000 x 1) / 21,140,000
    assert_allclose(f["peak_to_average"], (1_140_000 * 2 + 20_000_000) / 21_140_000, rtol=1e-12)


def test_every_default_is_sourced_or_assumed():
    for name, arch in dm.archetypes().items():
        for p in dm.PARAMETERS:
            assert ("source" in arch[p]) != ("assumed" in arch[p]), (name, p)


def test_override_is_labelled_given():
    d = dm.build([{"archetype": "chat", "users": 10, "output_tokens": 1000}])
    assert d.parts[0].provenance["output_tokens"] == "given"
    assert d.parts[0].provenance["input_tokens"].startswith("source:")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"archetype": "chatt", "users": 1}, r"archetypes\.0\.archetype"),
        ({"archetype": "chat"}, r"archetypes\.0\.users"),
        ({"archetype": "chat", "users": -5}, r"archetypes\.0\.users"),
        (
            {"archetype": "chat", "users": 1, "requests_per_session": 0.5},
            r"archetypes\.0\.requests_per_session",
        ),
        ({"archetype": "chat", "users": 1, "colour": 1}, r"archetypes\.0\.colour"),
    ],
)
def test_bad_input_names_the_field(entry, field):
    with pytest.raises(ScenarioError, match=f"^{field}:"):
        dm.build([entry])


def test_unknown_archetype_suggests_the_nearest():
    with pytest.raises(ScenarioError, match="did you mean chat"):
        dm.build([{"archetype": "chatt", "users": 1}])


def test_request_takes_the_archetypes_list_inline(tmp_path):
    # the HTTP API's body: the same list a demand file holds gives the same demand
    entries = [
        {"archetype": "chat", "users": 1000},
        {"archetype": "coding-agent", "users": 100, "reasoning_tokens": 0},
    ]
    f = tmp_path / "d.yaml"
    f.write_text(
        "archetypes:\n  - archetype: chat\n    users: 1000\n"
        "  - archetype: coding-agent\n    users: 100\n    reasoning_tokens: 0\n"
    )
    inline = dm.analyse({"archetypes": entries})
    from_file = dm.analyse({"file": str(f)})
    assert inline.as_dict() == from_file.as_dict()
    # chat 2,800 calls x 300 + agent 15,000 calls x 300 (no reasoning) = 5,340,000 a day
    assert_allclose(inline.tokens_per_day, 2_800 * 300 + 15_000 * 300)
    # the command line's text form: archetype=users,...
    text = dm.analyse({"archetypes": "chat=1000,coding-agent=100"})
    assert_allclose(text.tokens_per_day, 2_800 * 300 + 15_000 * 10_300)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"archetypes": "chat"}, r"^archetypes: 'chat' is not archetype=users"),
        ({"archetypes": [{"archetype": "chat"}]}, r"^archetypes\.0\.users: required \(not given\)"),
        ({"archetypes": [{"archetype": "chat", "users": 1e11}]}, r"^archetypes\.0\.users:"),
        ({"archetypes": [{"archetype": "chatt", "users": 1}]}, r"^archetypes\.0\.archetype"),
        ({"archetypes": "chat=1", "file": "x.yaml"}, r"^file: give one of.*got file, archetypes"),
        ({"archetypes": "chat=1", "users": 5}, r"^users: users go with --archetype"),
        # NAME=N has no overrides, so a name twice is one segment split in two, whose notes
        # printed twice: refused with the sum to give instead, 5 + 6 = 11
        (
            {"archetypes": "coding-agent=5,chat=2,coding-agent=6"},
            r"^archetypes: coding-agent given more than once; list each archetype once "
            r"\(e\.g\. coding-agent=11\)",
        ),
    ],
)
def test_inline_archetypes_bad_input_names_the_field(data, message):
    with pytest.raises(ScenarioError, match=message):
        dm.analyse(data)


@pytest.mark.parametrize(
    ("users", "message"),
    [
        # QA: the file took 0.5 users, which --archetype and the API refuse (users 1 to 1e10)
        ("0.5", r"^archetypes\.0\.users: 0\.5 is out of range; allowed: 1 to 1e\+10"),
        # QA: PyYAML reads 1e30 (no dot) as text: "'1e30' is not a number"
        ("1e30", r"^archetypes\.0\.users: 1e\+30 is out of range; allowed: 1 to 1e\+10"),
    ],
)
def test_a_demand_file_allows_what_the_api_allows(tmp_path, users, message):
    f = tmp_path / "d.yaml"
    f.write_text(f"archetypes: [{{archetype: chat, users: {users}}}]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=f"^{re.escape(str(f))}: {message[1:]}"):
        dm.load_demand(f)
    with pytest.raises(ScenarioError, match=message):
        dm.analyse({"archetypes": [{"archetype": "chat", "users": float(users)}]})


def test_a_demand_file_reads_exponent_numbers(tmp_path):
    # `users: 1e6` (YAML 1.2 and JSON read it as a number; PyYAML's YAML 1.1 as text):
    # 1e6 chat users x 2.8 requests x 300 output tokens = 8.4e8 output tokens a day
    f = tmp_path / "d.yaml"
    f.write_text("archetypes: [{archetype: chat, users: 1e6}]\n", encoding="utf-8")
    assert_allclose(dm.load_demand(f).tokens_per_day, 1e6 * 2.8 * 300, rtol=1e-12)


def test_the_library_allows_the_users_the_api_allows():
    # demand.build took 0.5 users (its own "> 0") where the API, --archetype and the file
    # refuse below 1; and --archetype without --users said "(> 0)"
    with pytest.raises(
        ScenarioError, match=r"^archetypes\.0\.users: 0\.5 is not allowed; allowed: 1 to 1e\+10"
    ):
        dm.build([{"archetype": "chat", "users": 0.5}])
    with pytest.raises(
        ScenarioError, match=r"^users: an archetype needs its number of users; allowed: 1 to 1e\+10"
    ):
        dm.analyse({"archetype": "chat"})
