"""Catalogs (tokenfab.catalog): the shipped data, its physical sanity, strict validation, overrides.

Spot values are checked against the documents each row cites in its ``source`` column; the
comment above each check names the document. Validation tests start from the valid fixture
directory ``tests/fixtures/catalog`` (two rows a file: an ``h100-sxm`` row with its bandwidth
lowered to 3.0 TB/s, and a made-up ``fixture-npu``) and break one thing each.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

import tokenfab.catalog
from tokenfab.catalog import (
    TABLES,
    Accelerator,
    ApiPrice,
    Catalog,
    CloudRental,
    builtin_dir,
    default_catalog,
    nearest,
    read_records,
)
from tokenfab.errors import CatalogError

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _builtin_ids(filename: str) -> list[str]:
    return [row["id"] for row in _csv_rows(builtin_dir() / filename)]


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog()


# --- every shipped row loads, with provenance -------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
def test_every_row_loads_with_source_and_as_of(cat: Catalog, name: str) -> None:
    records = cat.table(name)
    # invariant: one record per data row of the file, so no row was dropped or merged by id
    assert len(records) == len(_csv_rows(builtin_dir() / TABLES[name].filename))
    for rid, rec in records.items():
        assert rec.id == rid
        assert rec.source.strip(), f"{name}/{rid}: empty source"
        assert isinstance(rec.as_of, date), f"{name}/{rid}: as_of is not a date"


@pytest.mark.parametrize("name", list(TABLES))
def test_builtin_ids_are_unique(name: str) -> None:
    ids = _builtin_ids(TABLES[name].filename)
    # invariant: an id names one row; the loader rejects duplicates, this checks the data itself
    assert len(ids) == len(set(ids))


# --- what the catalogs must contain (the project's issue) --------------------------------------

REQUIRED_ACCELERATORS = {
    "a100-sxm-80gb", "h100-sxm", "h100-pcie", "h200-sxm", "h20", "l40s", "b200", "gb200", "b300",
    "gb300", "rubin", "mi300x", "mi325x", "mi355x", "gaudi3", "tpu-v5e", "tpu-v6e", "trainium2",
    "ascend-910c", "groq-lpu",
}  # fmt: skip


def test_accelerators_count_and_required_ids(cat: Catalog) -> None:
    accelerators = cat.table("accelerators")
    assert len(accelerators) >= 18  # issue: at least 18 accelerators
    assert set(accelerators) >= REQUIRED_ACCELERATORS, REQUIRED_ACCELERATORS - set(accelerators)
    # NVIDIA GTC 2025 / CES 2026: Rubin is announced, not shipping
    assert cat.accelerator("rubin").status == "announced"
    # issue: at least one edge device (RTX 4090 and Jetson AGX Orin at the time of writing)
    assert any(a.category == "edge" for a in accelerators.values())


def test_models_count_and_kinds(cat: Catalog) -> None:
    models = cat.table("models")
    assert len(models) >= 16  # issue: at least 16 models
    assert {m.kind for m in models.values()} == {"dense", "moe"}  # both kinds present


def test_regions_ids(cat: Catalog) -> None:
    required = {
        "us", "eu", "china", "singapore", "india", "japan", "middle-east", "indonesia",
        "australia", "brazil",
    }  # fmt: skip
    assert required <= set(cat.table("regions")), required - set(cat.table("regions"))


def test_api_prices_count_and_history_span(cat: Catalog) -> None:
    prices = cat.table("api-prices")
    assert len(prices) >= 60  # issue: at least 60 price rows
    dates = [p.effective_date for p in prices.values()]
    # issue: a price history of at least two years; at the time of writing it runs from
    # 2023-03-01 (gpt-3.5-turbo) to 2025-11-24 (Claude Opus 4.5), 999 days
    assert (max(dates) - min(dates)).days >= 2 * 365


def test_rentals_tiers_workloads(cat: Catalog) -> None:
    assert len(cat.table("rentals")) >= 20  # issue: at least 20 rental prices
    # AI-factory framework (GTC 2026 keynote, seed 002): free, medium, high, premium, ultra
    assert set(cat.table("tiers")) == {"free", "medium", "high", "premium", "ultra"}
    required = {"chat", "rag", "coding-agent", "reasoning", "batch", "roleplay"}  # issue
    assert required <= set(cat.table("workloads")), required - set(cat.table("workloads"))


# --- physical sanity of every accelerator ------------------------------------------------------


@pytest.mark.parametrize("rid", _builtin_ids("accelerators.csv"))
def test_accelerator_is_physically_sane(cat: Catalog, rid: str) -> None:
    a = cat.accelerator(rid)
    # invariant: narrower formats never run slower than wider ones on the same tensor cores
    if a.bf16_dense_tflops is not None and a.fp8_dense_tflops is not None:
        assert a.fp8_dense_tflops >= a.bf16_dense_tflops
    if a.fp8_dense_tflops is not None and a.fp4_dense_tflops is not None:
        assert a.fp4_dense_tflops >= a.fp8_dense_tflops
    # ranges that bracket every device from a Jetson (0.2 TB/s, 60 W) to Groq's on-chip SRAM
    # (80 TB/s, 0.23 GB) and a 2.3 kW Rubin package; a value outside is a unit slip (GB/s as TB/s).
    # Wafer-scale SRAM is the one exception: Cerebras WSE-3, 44 GB at 21 PB/s (press release
    # 2024-03-13), so devices whose whole memory is on-chip (< 64 GB) may reach 30,000 TB/s
    assert 0.1 <= a.memory_bandwidth_tb_s <= (30_000 if a.memory_gb < 64 else 100)
    assert 0.1 <= a.memory_gb <= 1000
    if a.tdp_w is not None:
        assert 10 <= a.tdp_w <= 3000


def test_h100_sxm_matches_datasheet(cat: Catalog) -> None:
    h100 = cat.accelerator("h100-sxm")
    # NVIDIA H100 Tensor Core GPU datasheet, SXM column: 3.35 TB/s HBM3
    assert_allclose(h100.memory_bandwidth_tb_s, 3.35, rtol=1e-9)
    # same datasheet: BF16 1,979 TFLOPS with sparsity, dense = 1,979 / 2 = 989.5 (NVIDIA also
    # prints 989); 1e-3 relative tolerance (0.99 TFLOPS) accepts either rounding
    assert_allclose(h100.bf16_dense_tflops, 989, rtol=1e-3)
    # same datasheet: max TDP "up to 700 W (configurable)"
    assert_allclose(h100.tdp_w, 700, rtol=1e-9)


def test_mi300x_matches_datasheet(cat: Catalog) -> None:
    mi300x = cat.accelerator("mi300x")
    # AMD Instinct MI300X data sheet / specifications page: 192 GB HBM3 at 5.3 TB/s peak
    assert_allclose(mi300x.memory_gb, 192, rtol=1e-9)
    assert_allclose(mi300x.memory_bandwidth_tb_s, 5.3, rtol=1e-9)


def test_b200_fp4_matches_hgx_spec(cat: Catalog) -> None:
    b200 = cat.accelerator("b200")
    # the row's source, NVIDIA's HGX B200 specifications (nvidia.com/en-us/data-center/hgx):
    # 8-GPU FP4 144 PFLOPS with sparsity, 72 PFLOPS dense -> 72 / 8 = 9 PFLOPS = 9,000 TFLOPS
    # dense per GPU
    assert_allclose(b200.fp4_dense_tflops, 9000, rtol=1e-9)
    assert "hgx" in b200.source.lower()  # the figure is cited to the HGX spec, as checked above


# --- regions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", _builtin_ids("regions.csv"))
def test_region_is_physically_sane(cat: Catalog, rid: str) -> None:
    r = cat.region(rid)
    assert r.renewable_share is None or 0 <= r.renewable_share <= 1  # a share of generation
    assert 1 <= r.pue <= 3  # PUE >= 1 by definition; Uptime 2024 survey average is 1.56
    # lifecycle intensity: 0 for an all-clean grid; coal-only generation is ~1,000 g/kWh (IPCC
    # AR5 WGIII Annex III median 820 g/kWh, range to ~1,050), so 1,200 is a generous ceiling
    assert 0 <= r.grid_co2e_g_per_kwh <= 1200


def test_region_spot_values_match_their_sources(cat: Catalog) -> None:
    eu = cat.region("eu")
    # row source: Ember Yearly Electricity Data via Our World in Data owid-energy-data.csv,
    # row "European Union (27)" 2024: carbon_intensity_elec 211.2 g/kWh, renewables_share_elec
    # 48.01 % (Ember's European Electricity Review 2025 reports renewables at 47 % of EU
    # generation in 2024, Eurelectric 48 %)
    assert_allclose(eu.grid_co2e_g_per_kwh, 211.2, rtol=1e-9)
    assert_allclose(eu.renewable_share, 0.4801, rtol=1e-9)
    assert eu.grid_co2e_year == 2024
    # row source: EIA average retail price to industrial customers, US, 2023: 8.06 cents/kWh
    assert_allclose(cat.region("us").electricity_usd_per_kwh, 0.0806, rtol=1e-9)
    # row source: Eurostat EU-27 non-household average, H2 2024, EUR 0.1899/kWh excluding VAT,
    # at the ECB 2024 average 1.0824 USD/EUR: 0.1899 * 1.0824 = 0.20555 -> 0.2055
    assert_allclose(eu.electricity_usd_per_kwh, 0.1899 * 1.0824, atol=1e-4)


def test_us_state_rows_match_eia_and_egrid(cat: Catalog) -> None:
    # EIA Electric Power Annual 2023, industrial average revenue: Virginia 8.92 c/kWh, Texas 6.60
    assert_allclose(cat.region("us-va").electricity_usd_per_kwh, 0.0892, rtol=1e-9)
    assert_allclose(cat.region("us-tx").electricity_usd_per_kwh, 0.0660, rtol=1e-9)
    # eGRID2022 subregion rates: SRVC 283.9 kg/MWh, ERCT 351.2 kg/MWh (= g/kWh)
    assert_allclose(cat.region("us-va").grid_co2e_g_per_kwh, 283.9, rtol=1e-9)
    assert_allclose(cat.region("us-tx").grid_co2e_g_per_kwh, 351.2, rtol=1e-9)
    # Eurostat H1 2024 non-household extremes: Ireland EUR 0.256/kWh, Finland EUR 0.0939/kWh, at
    # 1.0824 USD/EUR; Ember 2023 lifecycle intensity via OWID: Ireland 291 g/kWh, Finland 79
    assert_allclose(cat.region("eu-ie").electricity_usd_per_kwh, 0.256 * 1.0824, atol=1e-4)
    assert_allclose(cat.region("eu-fi").electricity_usd_per_kwh, 0.0939 * 1.0824, atol=1e-4)
    assert (cat.region("eu-ie").grid_co2e_g_per_kwh, cat.region("eu-fi").grid_co2e_g_per_kwh) == (
        291,
        79,
    )
    # every state row sits under the US row and says which year its intensity is for
    for r in cat.table("regions").values():
        if r.id.startswith("us-"):
            assert r.parent == "us" and r.grid_co2e_year == 2022


def test_memory_quoted_in_gib_is_stored_in_gb(cat: Catalog) -> None:
    # AWS Neuron docs: Trainium2 96 GiB, Trainium3 144 GiB; Google: TPU7x 192 GiB (1 GiB = 1.073741824 GB)
    for rid, gib in (("trainium2", 96), ("trainium3", 144), ("tpu-v7", 192)):
        assert_allclose(cat.accelerator(rid).memory_gb, gib * 1.073741824, atol=0.05)


def test_price_ranges_bracket_the_price(cat: Catalog) -> None:
    ranged = [a for a in cat.table("accelerators").values() if a.price_usd_low is not None]
    assert ranged  # CNBC's B200 '$30,000 to $40,000', Citi's MI300X $10,000-15,000, ...
    for a in ranged:
        assert a.price_usd_low <= a.price_usd <= a.price_usd_high
    # Jensen Huang to CNBC (2024-03-19): Blackwell '$30,000 to $40,000'
    b200 = cat.accelerator("b200")
    assert (b200.price_usd_low, b200.price_usd_high) == (30000, 40000)


# --- API price history -------------------------------------------------------------------------


def test_api_price_collapse_at_least_100x(cat: Catalog) -> None:
    prices: list[ApiPrice] = list(cat.table("api-prices").values())
    # GPT-4 (8k), GPT-4-32k, GPT-4 Turbo; not GPT-4o or GPT-4.1, which are later models
    gpt4 = [p for p in prices if p.model_name.startswith(("GPT-4 ", "GPT-4-"))]
    first_day = min(p.effective_date for p in gpt4)
    # the cheaper of the launch-day GPT-4 rows (8k: $60 output; 32k: $120)
    gpt4_launch = min(
        (p for p in gpt4 if p.effective_date == first_day), key=lambda p: p.output_usd_per_mtok
    )
    # OpenAI, 2023-03-14: GPT-4 8k at $0.03 / $0.06 per 1K prompt / completion tokens
    assert gpt4_launch.effective_date == date(2023, 3, 14)
    assert_allclose(gpt4_launch.output_usd_per_mtok, 60, rtol=1e-9)
    # cheapest output price among rows in effect since 2025: at the time of writing Gemini 2.0
    # Flash-Lite, $0.30 / Mtok (2025-02-05); 60 / 0.30 = 200x
    current = [p for p in prices if p.effective_date >= date(2025, 1, 1)]
    cheapest = min(p.output_usd_per_mtok for p in current)
    assert gpt4_launch.output_usd_per_mtok >= 100 * cheapest


# --- malformed files ---------------------------------------------------------------------------

Rows = list[dict[str, str]]
Mutation = Callable[[list[str], Rows], tuple[list[str], Rows]]


def _broken_copy(tmp_path: Path, filename: str, mutate: Mutation) -> Path:
    """Copy the valid fixture directory to tmp_path, with ``mutate`` applied to one file."""
    for path in FIXTURES.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    with (FIXTURES / filename).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    header, rows = mutate(header, rows)
    with (tmp_path / filename).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path / filename


def _set(line: int, field: str, value: str) -> Mutation:
    """Set one cell of the row on file line ``line`` (line 1 is the header)."""

    def mutate(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        rows[line - 2][field] = value
        return header, rows

    return mutate


def _drop_column(field: str) -> Mutation:
    def mutate(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            del row[field]
        return [c for c in header if c != field], rows

    return mutate


def _add_column(field: str, value: str) -> Mutation:
    def mutate(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            row[field] = value
        return [*header, field], rows

    return mutate


def _identity(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
    return header, rows


# (table, file, record type, mutation, line, field named in the message)
BROKEN = {
    "missing column": (
        "accelerators", "accelerators.csv", Accelerator, _drop_column("memory_gb"), 1, "memory_gb"
    ),
    "unknown unit-suffixed column": (
        "accelerators", "accelerators.csv", Accelerator, _add_column("memory_tb", "0.08"), 1,
        "memory_tb",
    ),
    "negative accelerator price": (
        "accelerators", "accelerators.csv", Accelerator, _set(3, "price_usd", "-1"), 3,
        "price_usd",
    ),
    "negative API price": (
        "api-prices", "api_prices.csv", ApiPrice, _set(3, "input_usd_per_mtok", "-1"), 3,
        "input_usd_per_mtok",
    ),
    "text in a number": (
        "accelerators", "accelerators.csv", Accelerator, _set(3, "memory_gb", "sixty-four"), 3,
        "memory_gb",
    ),
    "duplicate id": (
        "accelerators", "accelerators.csv", Accelerator, _set(3, "id", "h100-sxm"), 3, "id"
    ),
    "bad date (30 February)": (
        "accelerators", "accelerators.csv", Accelerator, _set(3, "as_of", "2025-02-30"), 3,
        "as_of",
    ),
    # a source dated 2099 is a typo, not a source: refused (it was accepted, and would have
    # kept the row from ever reading as stale)
    "as_of in the future": (
        "accelerators", "accelerators.csv", Accelerator, _set(3, "as_of", "2099-01-01"), 3,
        "as_of",
    ),
    "price_as_of in the future": (
        "accelerators", "accelerators.csv", Accelerator, _set(2, "price_as_of", "2099-01-01"), 2,
        "price_as_of",
    ),
    "bad effective date (month 13)": (
        "api-prices", "api_prices.csv", ApiPrice, _set(2, "effective_date", "2025-13-01"), 2,
        "effective_date",
    ),
}  # fmt: skip


def _assert_exact_message(exc: CatalogError, filename: str, line: int, field: str) -> None:
    message = str(exc)
    assert "\n" not in message  # one line, as the CLI prints it
    assert f"{filename}:{line}: " in message  # file:line
    # the field, as "file:line: field: ..." for a bad cell or "column 'field'" for the header
    assert f":{line}: {field}: " in message or f"column '{field}'" in message, message


@pytest.mark.parametrize(
    ("name", "filename", "record", "new_id"),
    [
        ("accelerators", "accelerators.csv", Accelerator, "fixture-npu"),
        ("api-prices", "api_prices.csv", ApiPrice, "fixture-api-large"),
        ("rentals", "cloud_rental.csv", CloudRental, "fixture-cloud-npu"),
    ],
)
def test_valid_fixture_loads(
    tmp_path: Path, name: str, filename: str, record: type, new_id: str
) -> None:
    # control for the broken-file tests: the same copy, unbroken, loads both ways; the row on
    # line 3 (the one most tests break) is a new id the user directory adds
    path = _broken_copy(tmp_path, filename, _identity)
    assert [(line, rec.id) for line, rec in read_records(path, record)][1] == (3, new_id)
    assert new_id in Catalog(dirs=[tmp_path]).table(name)


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_via_read_records(tmp_path: Path, case: str) -> None:
    _, filename, record, mutate, line, field = BROKEN[case]
    path = _broken_copy(tmp_path, filename, mutate)
    with pytest.raises(CatalogError) as info:
        read_records(path, record)
    assert info.type is CatalogError
    _assert_exact_message(info.value, filename, line, field)


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_via_catalog_override(tmp_path: Path, case: str) -> None:
    name, filename, _, mutate, line, field = BROKEN[case]
    _broken_copy(tmp_path, filename, mutate)
    with pytest.raises(CatalogError) as info:
        Catalog(dirs=[tmp_path]).table(name)
    assert info.type is CatalogError
    _assert_exact_message(info.value, filename, line, field)


def test_unknown_reference_is_caught_by_the_catalog(tmp_path: Path) -> None:
    # one break: the rental at line 3 names an accelerator that no catalog holds
    path = _broken_copy(tmp_path, "cloud_rental.csv", _set(3, "accelerator_id", "h100-sxm5"))
    # reading one file cannot know the other catalogs: the row itself is valid
    assert len(read_records(path, CloudRental)) == 2
    with pytest.raises(CatalogError) as info:
        Catalog(dirs=[tmp_path]).table("rentals")
    assert info.type is CatalogError
    _assert_exact_message(info.value, "cloud_rental.csv", 3, "accelerator_id")
    assert "h100-sxm5" in str(info.value)
    assert "h100-sxm" in str(info.value).split("nearest:")[1]  # the likely intended id


def test_a_failed_load_is_not_cached(tmp_path: Path) -> None:
    _broken_copy(tmp_path, "cloud_rental.csv", _set(3, "accelerator_id", "h100-sxm5"))
    catalog = Catalog(dirs=[tmp_path])
    with pytest.raises(CatalogError):
        catalog.table("rentals")
    with pytest.raises(CatalogError):  # asking again must not return the unchecked rows
        catalog.table("rentals")


# --- user overrides ----------------------------------------------------------------------------


def test_user_dir_replaces_and_adds_rows(cat: Catalog) -> None:
    user = Catalog(dirs=[FIXTURES])
    # built-in: NVIDIA H100 datasheet 3.35 TB/s; fixture row: 3.0 TB/s
    assert_allclose(cat.accelerator("h100-sxm").memory_bandwidth_tb_s, 3.35, rtol=1e-9)
    assert_allclose(user.accelerator("h100-sxm").memory_bandwidth_tb_s, 3.0, rtol=1e-9)
    assert user.where("accelerators", "h100-sxm") == f"{FIXTURES / 'accelerators.csv'}:2"
    # fixture-npu is new: the table grows by exactly one (h100-sxm replaced, not duplicated)
    assert user.accelerator("fixture-npu").vendor == "Example"
    assert len(user.table("accelerators")) == len(cat.table("accelerators")) + 1
    # a user rental may name an accelerator the same user directory adds
    assert user.table("rentals")["fixture-cloud-npu"].accelerator_id == "fixture-npu"


def test_later_user_dir_wins(tmp_path: Path) -> None:
    _broken_copy(tmp_path, "accelerators.csv", _set(2, "memory_bandwidth_tb_s", "2.5"))
    # fixture dir says 3.0, the later tmp_path copy says 2.5: directories apply in order
    h100 = Catalog(dirs=[FIXTURES, tmp_path]).accelerator("h100-sxm")
    assert_allclose(h100.memory_bandwidth_tb_s, 2.5, rtol=1e-9)


@pytest.fixture
def fresh_default_catalog():
    tokenfab.catalog._cached_catalog.cache_clear()
    yield
    tokenfab.catalog._cached_catalog.cache_clear()


@pytest.mark.usefixtures("fresh_default_catalog")
def test_env_var_overrides_default_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENFAB_CATALOG", raising=False)
    # built-in value: NVIDIA H100 datasheet 3.35 TB/s
    assert_allclose(default_catalog().accelerator("h100-sxm").memory_bandwidth_tb_s, 3.35)
    monkeypatch.setenv("TOKENFAB_CATALOG", str(FIXTURES))
    tokenfab.catalog._cached_catalog.cache_clear()
    # fixture value: 3.0 TB/s
    assert_allclose(default_catalog().accelerator("h100-sxm").memory_bandwidth_tb_s, 3.0)
    assert "fixture-npu" in default_catalog().table("accelerators")


def test_user_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not a directory"):
        Catalog(dirs=[tmp_path / "missing"])


# --- unknown ids -------------------------------------------------------------------------------


def test_unknown_id_names_the_nearest(cat: Catalog) -> None:
    with pytest.raises(CatalogError) as info:
        cat.get("models", "llama-3-8b")
    message = str(info.value)
    assert "\n" not in message
    assert "'llama-3-8b'" in message
    assert "llama-3.1-8b" in message  # the id meant: one character added


def test_unknown_id_with_nothing_near_offers_no_guess(cat: Catalog) -> None:
    # "nope" is close to no model id: the message lists none rather than "did you mean: none?"
    with pytest.raises(CatalogError) as info:
        cat.get("models", "nope")
    assert str(info.value) == (
        "models: unknown id 'nope' in models (list them with `tokenfab catalog models`)"
    )


def test_nearest_ranks_the_closest_first() -> None:
    # difflib ratio 2M/T: "llama-3" + "-8b" match, M = 10 of T = 10 + 12 characters -> 0.91;
    # llama-3.1-405b: M = 9 ("llama-3" + "-" + "b"), T = 24 -> 0.75; gpt-j-6b lower still
    assert nearest("llama-3-8b", ["gpt-j-6b", "llama-3.1-8b", "llama-3.1-405b"])[0] == (
        "llama-3.1-8b"
    )


@pytest.mark.parametrize(("given", "meant"), [("US", "us"), ("H100-SXM", "h100-sxm")])
def test_an_id_in_the_wrong_case_names_the_id(cat: Catalog, given, meant) -> None:
    # ids are lower case; `--region US` offered no id ("unknown id 'US' in regions (list
    # them ...)"), difflib's ratio of "US" to "us" being 0: the lower-cased word is the hint
    table = "regions" if meant == "us" else "accelerators"
    with pytest.raises(CatalogError) as info:
        cat.get(table, given)
    assert f"did you mean: {meant}?" in str(info.value)


def test_unknown_catalog_name(cat: Catalog) -> None:
    with pytest.raises(CatalogError, match="allowed: accelerators"):
        cat.table("gpus")


def test_where_of_unknown_id_raises_catalog_error(cat: Catalog) -> None:
    with pytest.raises(CatalogError, match="h100-sxm"):
        cat.where("accelerators", "h100-sxm5")


def test_every_unbounded_numeric_column_has_a_plausible_maximum():
    # a new numeric column either declares its own upper bound or gets one in COLUMN_MAXIMA
    from typing import Annotated, get_args, get_origin

    from pydantic.fields import FieldInfo

    from tokenfab.catalog import COLUMN_MAXIMA, Record

    def has_upper(field) -> bool:
        metas = list(field.metadata)

        def walk(a: object) -> None:
            if get_origin(a) is Annotated:
                metas.extend(get_args(a)[1:])
                walk(get_args(a)[0])
            else:
                for x in get_args(a):
                    walk(x)

        walk(field.annotation)
        flat = [c for m in metas for c in (m.metadata if isinstance(m, FieldInfo) else [m])]
        return any(getattr(c, k, None) is not None for c in flat for k in ("le", "lt"))

    def numeric(a: object) -> bool:
        return a in (int, float) or any(numeric(x) for x in get_args(a))

    missing = [
        f"{cls.__name__}.{name}"
        for cls in Record.__subclasses__()
        for name, field in cls.model_fields.items()
        if numeric(field.annotation) and not has_upper(field) and name not in COLUMN_MAXIMA
    ]
    assert not missing, f"add each to tokenfab.catalog.COLUMN_MAXIMA (or bound it): {missing}"
    # and the built-in catalogs sit well inside them (each maximum is 100x their largest value)
    default_catalog()


def test_a_number_above_its_columns_maximum_names_file_row_and_column(tmp_path):
    # 80,000,000 GB for an 80 GB A100 (a unit slip): refused with file:row, column and maximum
    with (builtin_dir() / "accelerators.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = {**rows[0], "id": "my-chip", "memory_gb": "80000000"}
    with (tmp_path / "accelerators.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    with pytest.raises(CatalogError) as err:
        default_catalog((str(tmp_path),)).accelerator("my-chip")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'accelerators.csv'}:2:")
    assert "memory_gb" in msg and "8e+07 is above the plausible maximum 100000" in msg


def test_a_future_date_and_a_value_over_the_maximum_say_what_is_allowed(tmp_path: Path) -> None:
    # as_of 2099-01-01: after today, so "allowed: a date on or before today"; memory_gb 1e9
    # over COLUMN_MAXIMA's 1e5 (a GB column): the allowed part is the column's range
    # "above 0 to 100000" (it said "allowed: above 0", the declared lower bound alone)
    from datetime import date

    from tokenfab.catalog import COLUMN_MAXIMA

    _broken_copy(tmp_path, "accelerators.csv", _set(3, "as_of", "2099-01-01"))
    with pytest.raises(CatalogError) as info:
        Catalog(dirs=[tmp_path]).table("accelerators")
    assert (
        f"as_of: 2099-01-01 is after today ({date.today().isoformat()}); allowed: a date on "
        "or before today" in str(info.value)
    )
    _broken_copy(tmp_path, "accelerators.csv", _set(3, "memory_gb", "1e9"))
    with pytest.raises(CatalogError) as info:
        Catalog(dirs=[tmp_path]).table("accelerators")
    most = COLUMN_MAXIMA["memory_gb"]
    assert str(info.value).endswith(f"allowed: above 0 to {most:g}"), str(info.value)


def test_a_csv_file_no_catalog_reads_is_refused_not_ignored(tmp_path):
    # QA: `--catalog DIR` with DIR/accelerator.csv (one letter short) ran on the built-in rows
    # and said nothing, so the user's overrides silently did not apply
    typo = tmp_path / "typo"
    typo.mkdir()
    (typo / "accelerator.csv").write_text("id\n", encoding="utf-8")
    with pytest.raises(
        CatalogError,
        match=r"accelerator\.csv is not a catalog file tokenfab reads \(did you mean accelerators\.csv\?\); allowed: accelerators\.csv, ",
    ):
        Catalog([typo])
    # a table tokenfab reads only from its own data cannot be overridden either
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "embodied_carbon.csv").write_text("id\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"reads embodied_carbon\.csv from its built-in data only"
    ):
        Catalog([builtin])
    # other files (notes, a README) are not catalogs and stay allowed
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("my overrides\n", encoding="utf-8")
    assert Catalog([notes]).accelerator("h100-sxm").id == "h100-sxm"


def test_a_malformed_id_in_a_user_catalog_is_described_in_words(tmp_path):
    # a region whose parent is "-5" said "parent: String should match pattern
    # '^[a-z0-9][a-z0-9._\-]*$' (got -5)": pydantic's words; the line says what an id is
    from typing import get_args

    from tokenfab.catalog import Id
    from tokenfab.scenario import _PATTERN_WORDS

    # invariant: the words are keyed by the pattern the catalog's ids use
    assert get_args(Id)[1].pattern in _PATTERN_WORDS
    data = Path(tokenfab.catalog.__file__).with_name("data") / "regions.csv"
    with data.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    us = next(r for r in rows if r["id"] == "us")
    mine = tmp_path / "mine"
    mine.mkdir()
    with (mine / "regions.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(us))
        w.writeheader()
        w.writerow({**us, "parent": "-5"})
    with pytest.raises(CatalogError) as exc:
        Catalog([mine]).region("us")
    msg = str(exc.value)
    assert msg.endswith(
        "regions.csv:2: parent: -5 is not allowed; allowed: an id of lower-case letters, "
        "digits, '.', '_' and '-', starting with a letter or a digit"
    ), msg
    assert "String should match" not in msg
