"""Published ranges in the catalogs: ``<field>_low``/``<field>_high`` beside the value.

Invariants over every shipped row (low <= value <= high, ends together, only beside a value)
and published ranges pinned with their source in the comment.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenfab.catalog import (
    TABLES,
    Accelerator,
    Catalog,
    CloudRental,
    CostAssumption,
    Region,
    published_range,
    range_fields,
)
from tokenfab.errors import CatalogError


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog()


def test_range_columns_exist_for_prices_rentals_electricity_pue() -> None:
    # issue #13: low/high wherever a source gives a range - prices, rentals, electricity, PUE
    assert range_fields(Accelerator) == ("price_usd",)
    assert set(range_fields(Region)) == {"electricity_usd_per_kwh", "pue"}
    assert set(range_fields(CloudRental)) == {
        "on_demand_usd_per_accelerator_hour",
        "reserved_usd_per_accelerator_hour",
    }
    assert range_fields(CostAssumption) == ("value",)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_shipped_range_brackets_its_value(cat: Catalog, name: str) -> None:
    fields = range_fields(TABLES[name].record)
    for rec in cat.table(name).values():
        for f in fields:
            r = published_range(rec, f)
            if r is None:
                assert getattr(rec, f"{f}_high") is None, (rec.id, f)
                continue
            low, mid, high = r
            assert low <= mid <= high, (rec.id, f, r)
            assert low < high, (rec.id, f, "a range with equal ends is a point")


def test_each_kind_of_range_is_filled_somewhere(cat: Catalog) -> None:
    filled = {
        (name, f)
        for name, t in TABLES.items()
        for f in range_fields(t.record)
        for rec in cat.table(name).values()
        if published_range(rec, f) is not None
    }
    assert ("accelerators", "price_usd") in filled
    assert ("cost-assumptions", "value") in filled
    assert ("regions", "electricity_usd_per_kwh") in filled


def test_eu_regional_figures(cat: Catalog) -> None:
    # European Commission EED data-centre dashboard (2023-2024 reports, 776 sites): weighted
    # average PUE 1.36; the member states without their own figure take it too
    for rid in ("eu", "eu-ie", "eu-fi"):
        assert cat.region(rid).pue == 1.36
        assert "Energy Efficiency Directive" in (cat.region(rid).pue_source or "")
    # Eurostat H1 2024 non-household spread, Finland EUR 0.0939 to Ireland EUR 0.256 at
    # 1.0824 USD/EUR, around the EU-27 H2 2024 average EUR 0.1899 ($0.2055)
    low, mid, high = published_range(cat.region("eu"), "electricity_usd_per_kwh")
    assert low < mid < high
    assert (low, high) == (
        cat.region("eu-fi").electricity_usd_per_kwh,
        cat.region("eu-ie").electricity_usd_per_kwh,
    )
    assert abs(low - 0.0939 * 1.0824) < 1e-4 and abs(high - 0.256 * 1.0824) < 1e-4


def test_published_ranges_pinned(cat: Catalog) -> None:
    # Jensen Huang to CNBC (2024-03-19): Blackwell will cost '$30,000 to $40,000'
    assert published_range(cat.accelerator("b200"), "price_usd") == (30000, 35000, 40000)
    # seed document 002 (Inference Tokenomics): silicon 'amortised over 4-6 years'
    life = cat.get("cost-assumptions", "useful-life-years")
    assert published_range(life, "value") == (4, 5, 6)
    # valueinvesting.io: Digital Realty WACC 6.3% selected within a 5.1-7.4% range
    wacc = cat.get("cost-assumptions", "cost-of-capital")
    assert published_range(wacc, "value") == (0.051, 0.063, 0.074)


def test_range_of_a_field_without_one_is_refused(cat: Catalog) -> None:
    with pytest.raises(CatalogError, match="'tdp_w' carries no range; allowed: price_usd"):
        published_range(cat.accelerator("b200"), "tdp_w")


def _region(**change: object) -> dict[str, object]:
    base = Catalog().region("us").model_dump()
    return {**base, **change}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pue_low": 1.2}, "pue_low and pue_high come together, with pue"),
        ({"pue_low": 1.6, "pue_high": 1.7}, "pue 1.56 must lie within pue_low 1.6"),
        (
            {"electricity_usd_per_kwh_low": 0.09, "electricity_usd_per_kwh_high": 0.1},
            "electricity_usd_per_kwh 0.0806 must lie within",
        ),
        ({"pue_low": 0.9, "pue_high": 1.7}, "greater than or equal to 1"),
    ],
)
def test_a_bad_range_is_refused_naming_the_field(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Region.model_validate(_region(**change))


def test_a_rental_range_needs_its_price() -> None:
    rental = Catalog().get("rentals", "lambda-8x-b200").model_dump()  # on-demand only
    with pytest.raises(ValidationError, match="reserved_usd_per_accelerator_hour_low and"):
        CloudRental.model_validate(
            {
                **rental,
                "reserved_usd_per_accelerator_hour_low": 3.0,
                "reserved_usd_per_accelerator_hour_high": 4.0,
            }
        )


def test_uncertainty_reads_the_published_ranges(cat: Catalog) -> None:
    from tokenfab.catalog import published_range
    from tokenfab.uncertainty import _catalog_row

    # seed 002: useful life 4-6 years (cost_assumptions value_low/value_high), the catalog row
    # behind the pipeline input cost.useful_life_years
    row, column = _catalog_row(cat, "cost.useful_life_years")
    assert published_range(row, column) == (4.0, 5.0, 6.0)
    # CNBC: B200 '$30,000 to $40,000'
    row, column = _catalog_row(cat, "accelerators.b200.price_usd")
    assert published_range(row, column) == (30000, 35000, 40000)
