"""The calculator in a real browser (Debian's chromium, Playwright): it shows what the API
returns, says what is wrong with a bad input, keeps the scenario in the URL, downloads the
report, passes axe-core and stays readable 375 px wide."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tokenfab.scenario import Scenario

START = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 8, "precision": "fp8"}
"""The scenario the page opens with (`make run`'s headline estimate)."""


def estimate(server: str, request: dict) -> dict:
    r = httpx.post(server + "/api/v1/estimate", json=request, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def fmt(value: float) -> str:
    """The page's number format (app.js fmt) for the values the tests compare."""
    a = abs(value)
    if a != 0 and (a >= 1e7 or a < 1e-3):
        return f"{value:.2e}".replace("e+", "e").replace("e0", "e").replace("e-0", "e-")
    if a >= 1000:
        return f"{round(value):,}"
    return f"{float(f'{value:.3g}'):g}"


def shown(page, key: str) -> float | None:
    """The raw number behind a KPI card (its text is that number, rounded)."""
    value = page.get_attribute(f".card[data-key={key}]", "data-value")
    return None if value in ("", None) else float(value)


def wait_shown(page, **fields) -> None:
    """Wait until the page shows the estimate of a request with these fields."""
    page.wait_for_function(
        """(want) => {
          const p = window.tokenfabPage;
          return p.request && !document.body.dataset.busy && p.result &&
            Object.entries(want).every(([k, v]) => String(p.request[k]) === String(v));
        }""",
        arg=fields,
        timeout=60_000,
    )


CARD_KEYS = (
    "cost_usd_per_mtok_output",
    "output_tok_s_per_accelerator",
    "output_tok_s_per_user",
    "ttft_s",
    "tpot_s",
    "monthly_cost_usd",
    "co2e_g_per_mtok",
)


def assert_cards_match(page, api: dict) -> None:
    for key in CARD_KEYS:
        if api[key] is None:
            assert shown(page, key) is None, key
        else:
            assert shown(page, key) == pytest.approx(api[key], rel=1e-12), key


def test_page_shows_the_api_estimate_with_options_from_the_catalogs(page, server):
    # every accelerator and region of the API's catalogs is a choice, none hard-coded
    accs = httpx.get(server + "/api/v1/catalog/accelerators").json()
    regions = httpx.get(server + "/api/v1/catalog/regions").json()
    n_acc = len(accs if isinstance(accs, list) else accs["records"])
    n_reg = len(regions if isinstance(regions, list) else regions["records"])
    assert page.locator("#f-accelerator option").count() == n_acc
    assert page.locator("#f-region option").count() == n_reg
    groups = page.locator("#f-model optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups == ["Dense", "Mixture of experts"]
    # the cards are the API's estimate of the opening scenario
    api = estimate(server, START)
    assert_cards_match(page, api)
    # the error band: the estimate's own (TTFT, TPOT, throughput from held-out residuals) where
    # it has them, else the held-out median error of the H100's efficiency row
    band = page.inner_text("#band")
    if api.get("error_band_basis"):
        assert api["error_band_basis"] in band
        ttft = page.get_attribute(".card[data-key=ttft_s] .band", "aria-label")
        # TTFT and TPOT both in milliseconds
        low, high = fmt(api["ttft_s_low"] * 1e3), fmt(api["ttft_s_high"] * 1e3)
        assert ttft == f"error band {low} to {high} ms"
        assert page.inner_text(".card[data-key=ttft_s] .value .unit").strip() == "ms"
        assert page.inner_text(".card[data-key=tpot_s] .value .unit").strip() == "ms"
    else:
        assert "held-out median error" in band
    # where plan would serve the scenario in another weight format, the page says so as the
    # CLI does (the API's precision_note); where it would not, nothing is said
    assert (api.get("precision_note") or "") in band
    assert ("Weight format:" in band) == bool(api.get("precision_note"))
    assert page.locator(".card[data-key=cost_usd_per_mtok_output] .band").count() == 1


def test_changing_accelerator_and_region_shows_the_new_estimate(page, server):
    before = shown(page, "cost_usd_per_mtok_output")
    page.select_option("#f-accelerator", "b200")
    page.select_option("#f-region", "eu")
    wait_shown(page, accelerator="b200", region="eu")
    api = estimate(server, {**START, "accelerator": "b200", "region": "eu"})
    assert_cards_match(page, api)
    assert shown(page, "cost_usd_per_mtok_output") != before
    # the frontier chart marks the new operating point (the API's figures)
    page.wait_for_selector("#panel-frontier[data-state=ready]", state="attached")
    point = page.evaluate("() => document.querySelector('#panel-frontier .chart').data[1]")
    assert point["x"][0] == pytest.approx(api["output_tok_s_per_user"], rel=1e-12)
    assert point["y"][0] == pytest.approx(api["output_tok_s_per_accelerator"], rel=1e-12)
    # the cost chart: each line's share of the cost per million output tokens
    page.click("#tab-cost")
    page.wait_for_selector("#panel-cost[data-state=ready]", state="attached")
    bars = page.evaluate("() => document.querySelector('#panel-cost .chart').data[0]")
    lines = {
        k: v
        for k, v in api.items()
        if k.startswith("cost_")
        and k.endswith("_usd_per_hour")
        and k != "cost_usd_per_accelerator_hour"
        and v
    }
    assert sum(bars["x"]) == pytest.approx(api["cost_usd_per_mtok_output"], rel=1e-9)
    assert len(bars["x"]) == len(lines)
    # the URL now holds the new scenario
    assert "accelerator=b200" in page.url and "region=eu" in page.url


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("#f-accelerators", "0", "accelerators"),
        ("#f-tokens_per_day", "lots", "tokens_per_day"),
    ],
)
def test_a_bad_input_shows_its_message(page, field, text, message):
    page.fill(field, text)
    page.wait_for_selector("#message:not([hidden])", timeout=60_000)
    assert message in page.inner_text("#message")
    # the cards keep the last good estimate; the status says why they did not change
    assert "Not updated" in page.inner_text("#status")


def test_a_shared_url_reproduces_the_scenario(open_page, server):
    state = {
        "model": "llama-3.1-8b",
        "accelerator": "mi300x",
        "accelerators": "4",
        "region": "eu",
        "ownership": "rent",
        "tokens_per_day": "1e9",
    }
    page = open_page(f"{server}/?{urlencode(state)}")
    try:
        for name, value in state.items():
            assert page.input_value(f"#f-{name}") == value, name
        wait_shown(page, accelerator="mi300x", region="eu")
        api = estimate(server, {**state, "accelerators": 4, "tokens_per_day": 1e9})
        assert_cards_match(page, api)
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()


def test_downloads_report_json_csv_and_yaml(page, server, tmp_path):
    with page.expect_download(timeout=120_000) as dl:
        page.click("#dl-report")
    report = tmp_path / "report.html"
    dl.value.save_as(report)
    # the downloaded report opens on its own (no server, no network) and is this scenario's
    viewer = page.context.new_page()
    viewer.goto(report.as_uri())
    assert "tokenfab report: llama-3.1-70b" in viewer.inner_text("h1")
    assert viewer.locator("h2", has_text="Assumptions ledger").count() == 1
    # its four charts (and those of the optional sections, such as the tornado)
    alts = viewer.locator("img.chart").evaluate_all("imgs => imgs.map(i => i.alt)")
    assert alts[:4] == [
        "Frontier of llama-3.1-70b on h100-sxm with the operating point",
        "Cost per million output tokens (prompts charged separately) by cost line",
        "Cost and carbon by accelerator",
        "Cost and carbon by region",
    ], alts
    viewer.close()

    api = estimate(server, START)
    with page.expect_download() as dl:
        page.click("#dl-json")
    assert json.loads(Path(dl.value.path()).read_text()) == api
    with page.expect_download() as dl:
        page.click("#dl-csv")
    rows = Path(dl.value.path()).read_text().splitlines()
    assert rows[0] == "key,value,unit"
    assert f"cost_usd_per_mtok_output,{api['cost_usd_per_mtok_output']},USD/Mtok" in rows
    with page.expect_download() as dl:
        page.click("#dl-yaml")
    yaml_file = tmp_path / "scenario.yaml"
    dl.value.save_as(yaml_file)
    # the form's selects always hold a region and an ownership (the schema's defaults)
    expected = {**START, "region": "us", "ownership": "buy"}
    assert Scenario.from_yaml(yaml_file).model_dump(exclude_unset=True) == expected


def test_tabs_work_from_the_keyboard(page):
    page.focus("#tab-frontier")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-cost", "aria-selected") == "true"
    assert page.evaluate("() => document.activeElement.id") == "tab-cost"
    assert page.is_hidden("#panel-frontier")


def test_axe_finds_no_serious_violation(page, axe_js):
    page.wait_for_selector("#panel-frontier[data-state=ready]", state="attached")
    page.add_script_tag(path=str(axe_js))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)


def test_readable_375_px_wide(open_page, server, out_dir):
    page = open_page(server + "/", width=375, height=812)
    try:
        # nothing wider than the screen: no sideways scrolling
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        # the KPI figures stay at a readable size
        size = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.card .value')).fontSize)"
        )
        assert size >= 16
        page.screenshot(path=str(out_dir / "calculator-375.png"), full_page=True)
        assert (out_dir / "calculator-375.png").stat().st_size > 10_000
    finally:
        page.context.close()


def test_roadmap_and_demand_tabs_show_what_the_api_returns(page, server):
    request = page.evaluate("() => window.tokenfabPage.request")
    # roadmap: one bar per applicable lever, its length the API's saving
    page.click("#tab-roadmap")
    page.wait_for_selector("#panel-roadmap[data-state=ready]", state="attached", timeout=120_000)
    bars = page.evaluate("() => document.querySelector('#panel-roadmap .chart').data[0]")
    r = httpx.post(server + "/api/v1/roadmap", json={"scenario": request}, timeout=120)
    assert r.status_code == 200, r.text
    savings = {
        lv["lever"]: lv["saving_usd_per_mtok"]
        for lv in r.json()["levers"]
        if lv["applicable"] and lv["saving_usd_per_mtok"] is not None
    }
    assert dict(zip(bars["y"], bars["x"], strict=True)) == pytest.approx(savings, rel=1e-12)
    # Plotly's buttons (shown on hover) sit in a strip above the title, so no title, however
    # long, runs under them
    page.hover("#panel-roadmap .chart")
    modebar = page.locator("#panel-roadmap .modebar").bounding_box()
    title = page.locator("#panel-roadmap .gtitle").bounding_box()
    assert modebar and title, (modebar, title)
    assert modebar["y"] + modebar["height"] <= title["y"], (modebar, title)

    # demand builder: 100,000 chat users -> the API's demand, then the calculator's demand
    page.click("#tab-demand")
    page.wait_for_selector("#panel-demand[data-state=ready]", state="attached", timeout=60_000)
    page.wait_for_selector("#panel-demand .chart", state="attached")
    chat = {"archetypes": [{"archetype": "chat", "users": 100000}]}
    d = httpx.post(server + "/api/v1/demand", json=chat, timeout=60).json()
    shown_bars = page.evaluate("() => document.querySelector('#panel-demand .chart').data[0]")
    assert shown_bars["x"] == ["chat"]
    assert shown_bars["y"] == pytest.approx([d["tokens_per_day"]], rel=1e-12)
    page.click("#d-use")
    wait_shown(page, tokens_per_day=d["scenario"]["tokens_per_day"])
    assert float(page.input_value("#f-tokens_per_day")) == d["scenario"]["tokens_per_day"]
    assert page.input_value("#f-accelerators") == ""  # sized to the new demand


def test_a_separate_prefill_pool_shows_both_pools(page, server):
    # prefill on B200 beside the opening scenario's 8 H100, now the decode pool: the pools
    # table shows the API's counts, which add up to the accelerators installed (8 decoding
    # plus the B200 that feed them), and the headline names both
    assert page.locator("#pools").is_hidden()
    page.select_option("#f-prefill_accelerator", "b200")
    wait_shown(page, prefill_accelerator="b200")
    api = estimate(server, {**START, "prefill_accelerator": "b200"})
    assert_cards_match(page, api)
    cell = "#pools td[data-pool={}][data-key=Accelerators]"
    assert page.inner_text(cell.format("prefill")) == fmt(api["prefill_accelerators"])
    assert page.inner_text(cell.format("decode")) == fmt(api["decode_accelerators"]) == "8"
    assert api["prefill_accelerators"] + api["decode_accelerators"] == api["accelerators_needed"]
    headline = page.inner_text("#headline")
    assert f"{api['prefill_accelerators']} \u00d7 b200 prefilling" in headline
    assert "8 \u00d7 h100-sxm decoding" in headline
    # the factory tab runs each tier on one type and says so rather than drop the pool silently
    page.click("#tab-factory")
    page.wait_for_selector("#panel-factory[data-state=ready]", state="attached", timeout=90_000)
    factory = page.inner_text("#panel-factory")
    assert "Each tier runs on h100-sxm alone" in factory
    # and it states the price basis of the blended tiers and the revenue per accelerator-hour
    assert "Price basis: free, medium and high are blended: the price is for 3 prompt" in factory
    assert "USD per accelerator-hour" in factory
    # one pool again: the table hides
    page.select_option("#f-prefill_accelerator", "")
    page.wait_for_function(
        "() => !('prefill_accelerator' in window.tokenfabPage.request) && "
        "!document.body.dataset.busy",
        timeout=60_000,
    )
    assert page.locator("#pools").is_hidden()


def test_a_rented_tpu_shows_its_cost_and_says_why_carbon_is_missing(page, server):
    # TPU v6e: a Google Cloud rental, no published power; the rent is the cost, energy and
    # carbon are n/a with the reason (before: every money card was n/a as well)
    tpu = {"accelerator": "tpu-v6e", "ownership": "rent", "precision": "bf16"}  # no fp8 on v6e
    page.select_option("#f-precision", "bf16")
    page.select_option("#f-accelerator", "tpu-v6e")
    page.select_option("#f-ownership", "rent")
    wait_shown(page, **tpu)
    api = estimate(server, {**START, **tpu})
    assert api["cost_usd_per_mtok_output"] is not None and api["co2e_g_per_mtok"] is None
    assert_cards_match(page, api)
    assert page.inner_text(".card[data-key=co2e_g_per_mtok] .value").startswith("n/a")
    assert "power is not public" in page.inner_text("#band")


def test_the_buy_rent_api_tab_prices_the_estimate_shown_at_its_volume(page, server):
    # Invariant: one deployment, one answer on one page. With prefill on B200 beside the
    # opening scenario's 8 H100 and 1e9 output tokens a day, the estimate cards show 8 H100
    # decoding and 1 B200 prefilling; the Buy, rent or API tab at 1e9 prices the same
    # deployment (whole groups of 8 decoding, the fewest that carry it: one), bought and
    # rented, to the digit. It once grew the 4-H100 decode replica of the group's point
    # without a demand: $7,281 bought, $12,235 rented at 1e9 beside the cards' $12,770.
    page.select_option("#f-prefill_accelerator", "b200")
    page.fill("#f-tokens_per_day", "1000000000")
    wait_shown(page, prefill_accelerator="b200", tokens_per_day="1000000000")
    page.click("#tab-breakeven")
    page.wait_for_selector("#panel-breakeven[data-state=ready]", state="attached", timeout=120_000)
    traces = page.evaluate("() => document.querySelector('#panel-breakeven .chart').data")
    at = {t["name"]: dict(zip(t["x"], t["y"], strict=True))[1e9] for t in traces}
    for own in ("buy", "rent"):
        api = estimate(
            server,
            {**START, "prefill_accelerator": "b200", "tokens_per_day": 1e9, "ownership": own},
        )
        assert api["decode_accelerators"] == 8
        assert at[own] == pytest.approx(api["monthly_cost_usd"], rel=1e-9), own
        if own == "buy":
            assert shown(page, "monthly_cost_usd") == pytest.approx(at["buy"], rel=1e-9)
    title = page.evaluate("() => document.querySelector('#panel-breakeven .chart').layout.title")
    assert "h100-sxm decode + b200 prefill" in str(title)
    caption = page.inner_text("#panel-breakeven")
    assert "fewest whole groups of 8 h100-sxm decoding" in caption
    # the caption names the weight format the rows are sized in: the estimate's
    assert f"sized for it) in {api['precision']} that carry it" in caption
