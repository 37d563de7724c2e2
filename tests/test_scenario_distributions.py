"""The ``distributions:`` block of a scenario file: a valid block is read with each entry's
line; each bad entry (break one thing of a valid one) is refused in one line naming the file,
the line and the field."""

from __future__ import annotations

import pytest

from tokenfab.errors import ScenarioError
from tokenfab.scenario import (
    InputRange,
    Scenario,
    check_support,
    parse_distribution,
    read_scenario_file,
)

HEAD = "model: llama-3.1-70b\naccelerator: h100-sxm\nprecision: fp8\n"


def write(tmp_path, body: str):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "distributions:\n" + body)
    return path


VALID = (
    "  utilization: {dist: uniform, low: 0.5, high: 0.9}\n"
    "  accelerators.h100-sxm.price_usd: {low: 25000, base: 27500, high: 30000}\n"
    "  regions.us.electricity_usd_per_kwh: {dist: normal, mean: 0.08, sd: 0.01}\n"
    "  regions.us.pue: {dist: lognormal, median: 1.4, sigma: 0.05, low: 1.0, high: 3.0}\n"
    "  cost.useful_life_years: {dist: triangular, low: 4, mode: 5, high: 6}\n"
)


def test_a_valid_block_is_read_with_its_lines(tmp_path):
    f = read_scenario_file(write(tmp_path, VALID))
    assert list(f.distributions) == [
        "utilization",
        "accelerators.h100-sxm.price_usd",
        "regions.us.electricity_usd_per_kwh",
        "regions.us.pue",
        "cost.useful_life_years",
    ]
    # the block starts on line 4 (three scenario lines above it), its entries on 5 to 9
    assert f.lines["utilization"] == 5 and f.lines["cost.useful_life_years"] == 9
    assert f.distributions["accelerators.h100-sxm.price_usd"].dist == "low-base-high"
    assert f.scenario == Scenario.parse(
        {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "precision": "fp8"}
    )
    # every other command reads the same file at its stated values
    assert Scenario.from_yaml(f.path) == f.scenario


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "utilization: {dist: normal, mean: 0.7, sd: -0.1}",
            "distributions.utilization: sd -0.1 is negative; allowed: 0 or more",
        ),
        (
            "utilization: {dist: uniform, low: 0.9, high: 0.5}",
            "distributions.utilization: low 0.9 is above high 0.5; give low <= high",
        ),
        (
            "utilization: {dist: triangular, low: 0.5, mode: 0.95, high: 0.9}",
            "mode 0.95 lies outside low 0.5 to high 0.9",
        ),
        ("utilization: {dist: beta, a: 2, b: 3}", "dist: 'beta' is not a distribution; allowed:"),
        ("utilization: {dist: normal, mean: 0.7}", "a normal needs mean, sd; sd is missing"),
        (
            "utilization: {dist: uniform, low: 0.5, high: 0.9, sd: 1}",
            "a uniform takes low, high and source; got sd",
        ),
        # a misspelt key beside low/base/high was read as a missing dist: "dist: None is not
        # a distribution"; the line names the key
        (
            "utilization: {low: 0.5, base: 0.7, high: 0.9, sourc: x}",
            "a low-base-high takes low, base, high and source; got sourc",
        ),
        # no dist and no low/base/high: JSON/YAML words, not Python's None
        ("utilization: {low: 0.5, high: 0.9}", "dist: not given; allowed: uniform"),
        ("utilization: {dist: uniform, low: true, high: 0.9}", "low: true is not a finite number"),
        ("utilization: {dist: uniform, low: .nan, high: 0.9}", "low: nan is not a finite number"),
        ("utilization: 0.8", "give a mapping such as {dist: uniform"),
        (
            "utilization: {dist: normal, mean: 0.5, sd: 0.01, low: 0.9, high: 1.0}",
            "low/high truncate away all but",
        ),
        (
            "regions.us.electricity_usd_per_kwh: {dist: lognormal, median: 0.08, sigma: -1}",
            "sigma -1 is negative",
        ),
        (
            "regions.us.electricity_usd_per_kwh: {dist: lognormal, median: 0, sigma: 1}",
            "median 0 of a lognormal must be above 0",
        ),
        (
            "utilization: {dist: split-lognormal, median: 0.5, p5: 0.6, p95: 0.7}",
            "p5 0.6, median 0.5, p95 0.7; allowed: 0 < p5 < median < p95",
        ),
        (
            "utilization: {dist: split-lognormal, median: 0.5, p5: 0.4}",
            "a split-lognormal needs median, p5, p95; p95 is missing",
        ),
    ],
)
def test_a_bad_distribution_is_refused_naming_the_file_line_and_field(tmp_path, entry, message):
    path = write(tmp_path, "  regions.us.pue: {low: 1.2, base: 1.3, high: 1.5}\n  " + entry + "\n")
    with pytest.raises(ScenarioError) as exc:
        read_scenario_file(path)
    text = str(exc.value)
    assert text.startswith(f"{path}:6: distributions."), text  # the second entry, line 6
    assert message in text, text
    assert "\n" not in text
    # the deterministic commands refuse the file too: a bad block is not silently skipped
    with pytest.raises(ScenarioError):
        Scenario.from_yaml(path)


def test_a_block_that_is_not_a_mapping_names_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "distributions: [utilization]\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:4: distributions: give a mapping"):
        read_scenario_file(path)


def test_a_truncated_normal_within_the_range_is_accepted():
    d = parse_distribution(
        "regions.us.electricity_usd_per_kwh",
        {"dist": "normal", "mean": 0.08, "sd": 0.03, "low": 0.02, "high": 0.2},
    )
    check_support("regions.us.electricity_usd_per_kwh", d, InputRange(0.0, None, low_open=True))
    assert (d.low, d.high) == (0.02, 0.2)
    # without the truncation 0.38 % of it would be below 0 (see above): refused
    wide = parse_distribution("x", {"dist": "normal", "mean": 0.08, "sd": 0.03})
    with pytest.raises(ScenarioError, match=r"0\.38% of its samples below 0"):
        check_support("x", wide, InputRange(0.0, None, low_open=True))
