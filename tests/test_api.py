"""The HTTP API: every endpoint returns what the CLI's ``--json`` prints for the same input,
and bad input is a 422 with the CLI's one-line message."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tokenfab import cli, operations
from tokenfab.api import MAX_BODY_BYTES, create_app

with warnings.catch_warnings():  # starlette's TestClient notes that httpx2 exists
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def cli_run(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=True)


def cli_json(*args: str):
    result = cli_run(*args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def flags(body: dict) -> list[str]:
    """The CLI options of a request body: lists comma-separated, numbers as text."""
    out = []
    for key, value in body.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        out += [cli.flag(key), text]
    return out


CASES = {
    "estimate": {
        "model": "llama-3.1-70b",
        "accelerator": "h100-sxm",
        "accelerators": 8,
        "precision": "fp8",
    },
    "plan": {
        "model": "llama-3.1-8b",
        "tokens_per_day": 1e8,
        "accelerator": ["h100-sxm", "l40s"],
        "region": ["us", "eu"],
        "ownership": ["rent"],
    },
    "frontier": {"model": "llama-3.1-8b", "accelerator": ["h100-sxm"], "accelerators": 8},
    "breakeven": {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "region": "us"},
    "market": {"samples": 200, "seed": 1},
    "demand": {"archetype": "chat", "users": 1000},
    "route": {"routed_share": 0},
    "viability": {"cost_usd_per_request": 0.01, "revenue_usd_per_request": 0.0099},
    "factory": {"accelerator": ["h100-sxm"], "power_mw": 10},
}


@pytest.mark.parametrize("name", list(CASES))
def test_endpoint_equals_cli_json(client, name) -> None:
    body = CASES[name]
    r = client.post(f"/api/v1/{name}", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == cli_json(name, *flags(body))


def test_estimate_sized_for_a_demand(client) -> None:
    body = {
        "model": "llama-3.1-70b",
        "accelerator": "h200-sxm",
        "tokens_per_day": 2e9,
        "region": "eu-ie",
        "ownership": "rent",
        "input_tokens": 3000,
        "output_tokens": 400,
    }
    doc = client.post("/api/v1/estimate", json=body).json()
    assert doc == cli_json("estimate", *flags(body))
    # invariant: the sized fleet carries the demand at its utilisation: output tokens a second
    # at the operating point x 86,400 s >= 2e9 a day
    assert doc["accelerators_needed"] >= 1
    assert doc["output_tok_s_total"] * 86_400 >= 2e9 * 0.999


def test_demand_hand_calculation(client) -> None:
    # 1,000 chat users x 2.8 calls a day x 300 output tokens = 840,000 output tokens a day
    # (data/demand_archetypes.yaml: chat's calls and lengths, as demand.build's doctest)
    doc = client.post("/api/v1/demand", json={"archetype": "chat", "users": 1000}).json()
    assert doc["calls_per_day"] == pytest.approx(2800)
    assert doc["tokens_per_day"] == pytest.approx(840_000)


def test_catalog_endpoints_equal_cli(client) -> None:
    r = client.get("/api/v1/catalog/regions")
    assert r.status_code == 200
    assert r.json() == cli_json("catalog", "regions")
    overview = client.get("/api/v1/catalog").json()
    assert overview == cli_json("catalog")
    assert overview["regions"] == len(r.json())


def test_health_lists_every_operation(client) -> None:
    doc = client.get("/api/v1/health").json()
    assert doc["status"] == "ok"
    served = set(operations.OPERATIONS) - {"catalog"}
    assert set(doc["operations"]) == served
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"/api/v1/{n}" for n in served} <= set(paths)


def test_docs_page(client) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()


def test_request_bodies_are_documented(client) -> None:
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/api/v1/estimate"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    fields = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert {"model", "accelerator", "accelerators", "tokens_per_day", "region"} <= set(fields)
    # the demand's file (a path on the server's disk) is not part of the HTTP API
    demand_ref = doc["paths"]["/api/v1/demand"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert "file" not in doc["components"]["schemas"][demand_ref.rsplit("/", 1)[-1]]["properties"]


BAD = {  # case: (operation, body, the field the message names)
    "unknown id": (
        "estimate",
        {"model": "llama-3.1-70b", "accelerator": "h100-sxmx"},
        # the field that gave it: "accelerator: unknown id 'h100-sxmx' in accelerators ..."
        # (it named the catalog, "accelerators:", a word the request does not have)
        "accelerator",
    ),
    "unknown id of a second field": (
        "estimate",
        {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "prefill_accelerator": "b2000"},
        "prefill_accelerator",
    ),
    "unknown id in a list": (
        "plan",
        {"model": "llama-3.1-8b", "tokens_per_day": 1e8, "region": ["us", "mars"]},
        "region",
    ),
    "empty item in a comma list": (
        "frontier",
        {"model": "llama-3.1-8b", "accelerator": "h100-sxm,,b200"},
        "accelerator",
    ),
    "out of range": (
        "estimate",
        {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "tokens_per_day": -1.0},
        "tokens_per_day",
    ),
    "route share": ("route", {"routed_share": 1.5}, "routed_share"),
    "factory power": ("factory", {"accelerator": ["h100-sxm"], "power_mw": -1.0}, "power_mw"),
    "market elasticity": ("market", {"scenario": "jevons", "elasticity": 4.0}, "elasticity"),
    "plan without demand": ("plan", {"model": "llama-3.1-8b"}, "tokens_per_day"),
    # software_licences.csv: nvidia-ai-enterprise covers NVIDIA GPUs only; it was accepted on
    # an MI300X and shown as "not charged"
    "licence of another vendor": (
        "estimate",
        {
            "model": "llama-3.1-8b",
            "accelerator": "mi300x",
            "software_licence": "nvidia-ai-enterprise",
        },
        "software_licence",
    ),
    "licence for no candidate": (
        "plan",
        {
            "model": "llama-3.1-8b",
            "tokens_per_day": 1e8,
            "accelerator": ["mi300x"],
            "ownership": ["buy"],
            "software_licence": "nvidia-ai-enterprise",
        },
        "software_licence",
    ),
    "breakeven licence": (
        "breakeven",
        {
            "model": "llama-3.1-8b",
            "accelerator": "mi300x",
            "software_licence": "nvidia-ai-enterprise",
        },
        "software_licence",
    ),
    "frontier licence": (
        "frontier",
        {
            "model": "llama-3.1-8b",
            "accelerator": ["mi300x", "mi325x"],
            "software_licence": "nvidia-ai-enterprise",
        },
        "software_licence",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_422_with_the_cli_message(client, case) -> None:
    name, body, field = BAD[case]
    r = client.post(f"/api/v1/{name}", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith(f"{field}:"), detail
    assert "\n" not in detail
    result = cli_run(name, *flags(body))
    assert result.exit_code != 0
    assert str(result.exception) == detail


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        (
            "estimate",
            {"model": "nosuch", "accelerator": "h100-sxm"},
            "model: unknown id 'nosuch' in models (list them with `tokenfab catalog models`)",
        ),
        (
            "frontier",
            {"model": "llama-3.1-8b", "accelerator": ["h100-sxm", "nosuch"]},
            "accelerator: unknown id 'nosuch' in accelerators (list them with "
            "`tokenfab catalog accelerators`)",
        ),
        (  # an entry of a list of objects: the entry, as factory names it
            "factory",
            {"mix": [{"accelerator": "h100-sxm", "model": "nosuch", "share": 1.0}]},
            "mix.0 (h100-sxm:nosuch:1): unknown id 'nosuch' in models (list them with "
            "`tokenfab catalog models`)",
        ),
        (  # a field of a nested mapping: its path
            "project",
            {
                "scenario": {
                    "model": "nosuch",
                    "accelerator": "h100-sxm",
                    "tokens_per_day": 1e9,
                }
            },
            "scenario.model: unknown id 'nosuch' in models (list them with `tokenfab catalog "
            "models`)",
        ),
        (  # a JSON list with an empty item was pydantic's "String should have at least 1 ..."
            "frontier",
            {"model": "llama-3.1-8b", "accelerator": ["h100-sxm", ""]},
            "accelerator: an empty item in ['h100-sxm', '']; give each item, none empty",
        ),
        (
            "plan",
            {"model": "llama-3.1-8b", "tokens_per_day": 1e8, "ownership": ["buy", " "]},
            "ownership: an empty item in ['buy', ' ']; give each item, none empty; allowed: "
            "buy, rent",
        ),
    ],
)
def test_an_unknown_id_or_an_empty_item_names_the_field(client, name, body, expected) -> None:
    r = client.post(f"/api/v1/{name}", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == expected


def test_unknown_field_is_named(client) -> None:
    body = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "gpus": 8}
    r = client.post("/api/v1/estimate", json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("gpus:")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "body: not valid JSON"),
        (b"[1, 2]", "body: a JSON object of field: value (got list)"),
        (b'"text"', "body: a JSON object of field: value (got text)"),
        # JSON's words, not Python's: it said "(got NoneType)" of a null body
        (b"null", "body: a JSON object of field: value (got null)"),
        # project's shape sent to estimate: it said "model: Field required"
        (
            b'{"scenario": {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}}',
            "scenario: estimate takes the scenario's fields at the top level",
        ),
        # a key given twice: json.loads kept the last and estimated llama-3.1-70b on one
        # H100 (the CLI refuses --model twice, a scenario file a key twice)
        (
            b'{"model": "llama-3.1-8b", "model": "llama-3.1-70b", "accelerator": "h100-sxm"}',
            "model: given more than once in the body; give each key once",
        ),
        # one level down too (a scenario's projection block)
        (
            b'{"model": "llama-3.1-8b", "accelerator": "h100-sxm", "x": {"a": 1, "a": 2}}',
            "a: given more than once in the body",
        ),
    ],
)
def test_malformed_body(client, body, expected) -> None:
    r = client.post("/api/v1/estimate", content=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a JSON null, true and object are quoted as JSON writes them: the lines said
        # "model: None is not text", "(got True)" and "(got {'archetypes': []})"
        ({"model": None, "accelerator": "h100-sxm"}, "model: null is not text"),
        (
            {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "json": True},
            "json: not a field here (got true); check the spelling",
        ),
        (
            {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "demand": {"archetypes": []}},
            'demand: not a field here (got {"archetypes": []}); check the spelling',
        ),
    ],
)
def test_values_in_error_lines_are_written_as_json(client, body, expected) -> None:
    r = client.post("/api/v1/estimate", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == expected


def test_body_size_cap(client) -> None:
    big = json.dumps({"model": "x" * MAX_BODY_BYTES, "accelerator": "h100-sxm"})
    r = client.post("/api/v1/estimate", content=big)
    assert r.status_code == 413
    assert f"{MAX_BODY_BYTES:,} bytes" in r.json()["detail"]


def test_limits_are_refused_with_the_limit(client) -> None:
    r = client.post("/api/v1/market", json={"samples": operations.MAX_HTTP_SAMPLES + 1})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("samples:")
    assert f"{operations.MAX_HTTP_SAMPLES:,}" in r.json()["detail"]
    regions = list(client.get("/api/v1/catalog/regions").json())
    accelerators = [a["id"] for a in client.get("/api/v1/catalog/accelerators").json()]
    # 29 accelerators x 20 regions x 2 ownerships = 1,160 candidates > MAX_PLAN_OPTIONS
    body = {
        "model": "llama-3.1-8b",
        "tokens_per_day": 1e8,
        "accelerator": accelerators,
        "region": [r["id"] for r in regions],
    }
    assert len(accelerators) * len(regions) * 2 > operations.MAX_PLAN_OPTIONS
    r = client.post("/api/v1/plan", json=body)
    assert r.status_code == 422
    assert f"at most {operations.MAX_PLAN_OPTIONS:,}" in r.json()["detail"]
    many = accelerators[: operations.MAX_FRONTIER_ACCELERATORS + 1]
    r = client.post("/api/v1/frontier", json={"model": "llama-3.1-8b", "accelerator": many})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("accelerator:")


def test_no_file_is_read_for_a_request(client) -> None:
    r = client.post("/api/v1/demand", json={"file": "/etc/passwd"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("file: the HTTP API reads no files")


def test_unknown_catalog_is_422(client) -> None:
    r = client.get("/api/v1/catalog/bogus")
    assert r.status_code == 422
    assert r.json()["detail"].startswith("name:")


@pytest.mark.parametrize("name", sorted(set(operations.OPERATIONS) - {"catalog"}))
def test_empty_body_is_an_answer_or_a_422(client, name) -> None:
    """Every registered operation, including those added later: never a server error."""
    r = client.post(f"/api/v1/{name}", json={})
    assert r.status_code in (200, 422), r.text


def test_serve_binds_loopback_by_default() -> None:
    result = CliRunner().invoke(cli.app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0x", "192.0.2.1"])  # unresolvable; TEST-NET-1
def test_serve_blames_the_host_not_the_port(host) -> None:
    # neither name is an address of this machine: the line used to say "--port: ... choose
    # another port", which no port fixes; the probe fails before any server starts
    from tokenfab import api
    from tokenfab.errors import TokenfabError

    with pytest.raises(TokenfabError, match=r"^--host: cannot listen on"):
        api.serve(host=host, port=8765)


@pytest.mark.parametrize("host", ["", " "])
def test_serve_refuses_an_empty_host(host) -> None:
    # uvicorn binds "" to every interface (0.0.0.0 and ::) while the start line said
    # "serving on http://127.0.0.1:PORT/": an empty --host is refused before any socket opens
    from tokenfab import api
    from tokenfab.errors import TokenfabError

    with pytest.raises(TokenfabError) as err:
        api.serve(host=host, port=8765)
    assert str(err.value) == (
        "--host: empty; give an address of this machine, e.g. 127.0.0.1 (the default) or "
        "0.0.0.0 for all"
    )


def test_demand_takes_archetypes_in_the_body(client) -> None:
    # invariant: a one-entry archetypes list is the same demand as archetype + users, and two
    # entries add up (2 x 1,000 chat users: 1,680,000 output tokens a day)
    one = client.post("/api/v1/demand", json={"archetype": "chat", "users": 1000}).json()
    listed = client.post(
        "/api/v1/demand", json={"archetypes": [{"archetype": "chat", "users": 1000}]}
    ).json()
    assert listed == one
    two = client.post(
        "/api/v1/demand",
        json={"archetypes": [{"archetype": "chat", "users": 1000}] * 2},
    ).json()
    assert two["tokens_per_day"] == pytest.approx(2 * one["tokens_per_day"])


def test_factory_mix_in_the_body_equals_the_cli_text_form(client) -> None:
    # the mix as objects over HTTP and as accelerator[:model]:share text on the command line
    # are one request; the parts' shares of 10 MW are their powers (6 MW and 4 MW)
    body = {
        "power_mw": 10,
        "mix": [
            {"accelerator": "h100-sxm", "share": 0.6},
            {"accelerator": "b200", "model": "llama-3.1-8b", "share": 0.4},
        ],
    }
    r = client.post("/api/v1/factory", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc == cli_json(
        "factory", "--power-mw", "10", "--mix", "h100-sxm:0.6,b200:llama-3.1-8b:0.4"
    )
    assert [p["factory"]["power_mw"] for p in doc["mix"]] == pytest.approx([6.0, 4.0])
    bad = client.post("/api/v1/factory", json={**body, "accelerator": ["h100-sxm"]})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("mix:")


def test_factory_empty_mix_is_a_422_asking_for_an_entry(client) -> None:
    # an empty list has no shares to sum: the line asks for an entry, not "sum to 0"
    r = client.post("/api/v1/factory", json={"power_mw": 10, "mix": []})
    assert r.status_code == 422
    assert r.json()["detail"] == "mix: give at least one accelerator:model:share entry"


def test_demand_archetypes_are_those_the_demand_takes(client) -> None:
    # the page's demand builder lists these; each id is one POST /demand accepts, and its
    # output tokens a day are users x sessions x requests x calls x output tokens
    listed = client.get("/api/v1/demand/archetypes").json()
    assert "chat" in listed and listed["chat"]["description"]
    chat = {k: v["value"] for k, v in listed["chat"].items() if isinstance(v, dict)}
    d = client.post("/api/v1/demand", json={"archetype": "chat", "users": 1000}).json()
    per_user = (
        chat["sessions_per_user_per_day"]
        * chat["requests_per_session"]
        * chat["calls_per_request"]
        * (chat["output_tokens"] + chat["reasoning_tokens"])
    )
    assert d["tokens_per_day"] == pytest.approx(1000 * per_user, rel=1e-12)
    for name in listed:
        r = client.post("/api/v1/demand", json={"archetype": name, "users": 10})
        assert r.status_code == 200, (name, r.text)


def test_a_new_operation_is_served_safely() -> None:
    """An operation registered later (montecarlo, project ...) is served by the same code: a
    ``samples`` field gains the HTTP limit, a field naming a file is never read as a path."""
    from pydantic import Field

    from tokenfab import schema

    class ProbeRequest(schema.Request):
        scenario: str | dict = Field(description="scenario YAML file, or its content")
        samples: int = Field(10, ge=1)

    op = operations.register(
        operations.Operation(
            "probe-test",
            ProbeRequest,
            None,
            lambda req, cat: {"samples": req.samples},
            lambda data, cat: data,
            "a probe",
        )
    )
    try:
        assert op.file_fields == ("scenario",)
        assert [limit.field for limit in op.http_limits] == ["samples"]
        client = TestClient(create_app())
        r = client.post("/api/v1/probe-test", json={"scenario": "/etc/passwd"})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("scenario: the HTTP API reads no files")
        inline = {"scenario": {"model": "llama-3.1-8b"}, "samples": 7}
        assert client.post("/api/v1/probe-test", json=inline).json() == {"samples": 7}
        inline["samples"] = operations.MAX_HTTP_SAMPLES + 1
        r = client.post("/api/v1/probe-test", json=inline)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("samples:")
        schema_doc = client.get("/openapi.json").json()
        assert "/api/v1/probe-test" in schema_doc["paths"]
    finally:
        del operations.OPERATIONS["probe-test"]
    with pytest.raises(KeyError, match="registered twice"):
        operations.register(operations.get("estimate"))


def test_montecarlo_and_sensitivity_when_the_pipeline_is_installed(client) -> None:
    pytest.importorskip("tokenfab.pipeline", reason="montecarlo needs tokenfab.pipeline")
    base = {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "accelerators": 1}
    over = {**base, "samples": operations.MAX_HTTP_SAMPLES + 1}
    r = client.post("/api/v1/montecarlo", json=over)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("samples:")
    heavy = {**base, "samples": operations.MAX_HTTP_REOPTIMISED_SAMPLES + 1, "reoptimise": True}
    assert client.post("/api/v1/montecarlo", json=heavy).status_code == 422
    sobol = {**base, "method": "sobol", "samples": 2 * operations.MAX_HTTP_SOBOL_BASE}
    assert client.post("/api/v1/sensitivity", json=sobol).status_code == 422
    r = client.post("/api/v1/montecarlo", json={**base, "samples": 200, "seed": 1})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc == operations.get("montecarlo").run({**base, "samples": 200, "seed": 1}).model_dump()
    assert 0 <= doc["feasible_share"] <= 1
    spread = doc["kpis"]["tpot_s"]
    assert spread["p5"] <= spread["p50"] <= spread["p95"]  # percentiles are ordered


EXAMPLE = Path(__file__).parent.parent / "examples" / "projection-llama-70b-h100.yaml"


@pytest.mark.parametrize("name", ["project", "roadmap", "narrative"])
def test_scenario_commands_take_the_file_content_inline(client, name) -> None:
    """The HTTP API takes the scenario file's content as an object and answers what the CLI
    answers for the file."""
    content = yaml.safe_load(EXAMPLE.read_text())
    r = client.post(f"/api/v1/{name}", json={"scenario": content})
    assert r.status_code == 200, r.text
    assert r.json() == cli_json(name, str(EXAMPLE))
    r = client.post(f"/api/v1/{name}", json={"scenario": str(EXAMPLE)})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("scenario: the HTTP API reads no files")


@pytest.mark.parametrize("value", [[1, 2], 5, None, True])
def test_a_file_field_that_is_not_an_object_says_what_it_takes(client, value) -> None:
    # over HTTP a file field (project's scenario) is the file's content as an object; text is
    # refused ("reads no files"), so "[1, 2] is not text" pointed at the wrong remedy
    r = client.post("/api/v1/project", json={"scenario": value})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("scenario: the file's content as an object of field: value (got ")
    assert "\n" not in detail


def test_an_inline_scenario_names_the_bad_field(client) -> None:
    content = yaml.safe_load(EXAMPLE.read_text())
    r = client.post("/api/v1/project", json={"scenario": {**content, "tokens_per_day": -5.0}})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("scenario.tokens_per_day:")
    bad = {**content, "projection": {"years": 99}}
    r = client.post("/api/v1/project", json={"scenario": bad})
    assert r.json()["detail"].startswith("projection.years:")


def test_serve_refuses_a_bad_catalog_and_a_busy_port_before_starting(tmp_path) -> None:
    import os
    import socket

    from tokenfab.errors import CatalogError, TokenfabError

    env = os.environ.get("TOKENFAB_CATALOG")
    (tmp_path / "regions.csv").write_text("id,name\nfoo,bar\n")
    result = CliRunner().invoke(cli.app, ["--catalog", str(tmp_path), "serve", "--port", "8000"])
    assert isinstance(result.exception, CatalogError)
    assert "regions.csv:1: missing column" in str(result.exception)
    assert os.environ.get("TOKENFAB_CATALOG") == env  # nothing leaks into this process
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli.app, ["serve", "--port", str(port)])
    assert isinstance(result.exception, TokenfabError)
    assert str(result.exception).startswith(f"--port: cannot listen on 127.0.0.1:{port}")


def test_an_estimate_is_sent_as_the_cli_writes_it(client) -> None:
    # the API writes a flat record of plain values with json.dumps alone (api._flat_json):
    # the text is json_text's, byte for byte, as `estimate --json` prints it compact
    from tokenfab.fileio import json_text

    body = {**CASES["estimate"], "region": "japan", "ownership": "rent"}
    r = client.post("/api/v1/estimate", json=body)
    assert r.status_code == 200, r.text
    want = operations.as_json_data(operations.get("estimate").run(body))
    assert r.text == json_text(want, indent=None)


def test_only_a_flat_record_of_finite_plain_values_skips_json_text() -> None:
    import numpy as np

    from tokenfab.api import _flat_json
    from tokenfab.fileio import json_text

    record = {"a": 1, "b": 2.5, "c": None, "d": "x", "e": True}
    assert (
        _flat_json(record)
        == json_text(record, indent=None)
        == ('{"a":1,"b":2.5,"c":null,"d":"x","e":true}\n')
    )
    # json_text writes these otherwise: null with a reason, a NumPy number, a nested record
    for other in ({"a": float("nan")}, {"a": np.int64(1)}, {"a": {"b": 1}}, [1.0]):
        assert _flat_json(other) is None


def test_breakeven_with_a_prefill_pool_echoes_and_prices_what_estimate_does(client) -> None:
    # Invariant: the breakeven endpoint's row at a volume is the estimate endpoint's deployment
    # for that demand: whole groups of 8 H100 decoding (the fewest the estimate accepts), B200
    # prefilling, at a 1.5 peak-to-average, bought and rented, and the scenario it echoes is
    # the one it sized (the two-pool path echoed peak_to_average 1.0 while sizing for 1.5)
    base = {
        "model": "llama-3.1-70b",
        "accelerator": "h100-sxm",
        "prefill_accelerator": "b200",
        "precision": "fp8",
        "region": "us",
        "peak_to_average": 1.5,
    }
    r = client.post("/api/v1/breakeven", json={**base, "accelerators": 8})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["scenario"]["peak_to_average"] == 1.5
    assert doc["scenario"]["accelerators"] == 8
    row = next(x for x in doc["rows"] if x["tokens_per_day"] == 1e10)
    for own, usd in (("buy", "buy_usd_per_month"), ("rent", "rent_usd_per_month")):
        body = {**base, "tokens_per_day": 1e10, "ownership": own}
        for k in range(1, 100):  # 1e10 a day at 1.5x: 174,000 tok/s at the peak
            e = client.post("/api/v1/estimate", json={**body, "accelerators": 8 * k})
            if e.status_code == 200:
                break
            assert e.status_code == 422, e.text
        est = e.json()
        assert est["decode_accelerators"] == 8 * k > 8
        assert row["accelerators"] == est["accelerators_needed"]
        assert row[usd] == pytest.approx(est["monthly_cost_usd"], rel=1e-9)


@pytest.mark.parametrize(
    ("method", "url", "message"),
    [
        (
            "get",
            "/api/v1/catalog/accelerators?stale=-1",
            "query: 'stale' is not a query parameter of GET /api/v1/catalog/accelerators "
            "(it takes none; the options go in the path)",
        ),
        (
            "post",
            "/api/v1/estimate?accelerators=8",
            "query: 'accelerators' is not a query parameter of POST /api/v1/estimate "
            "(it takes none; the options go in the JSON body)",
        ),
        (
            "post",
            "/api/v1/report?fromat=pdf",
            "query: 'fromat' is not a query parameter of POST /api/v1/report "
            "(allowed: format; the options go in the JSON body)",
        ),
    ],
)
def test_an_undeclared_query_parameter_is_a_422_not_ignored(client, method, url, message):
    # the rule: bad input is a 422 naming the field, never dropped in silence. The endpoints
    # take their options in the body or the path; `?stale=-1` returned the whole catalog with
    # 200, `?accelerators=8` estimated on the default 1 accelerator, and the report's
    # misspelt `?fromat=pdf` returned an HTML page
    body = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}
    r = client.post(url, json=body) if method == "post" else client.get(url)
    assert r.status_code == 422
    assert r.json() == {"detail": message}


def test_declared_query_parameters_and_the_page_keep_working(client):
    # the report's own `format`, and the calculator page, whose URL holds the scenario
    body = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}
    assert client.post("/api/v1/report?format=html", json=body).status_code == 200
    assert client.get("/?model=llama-3.1-8b&accelerator=h100-sxm").status_code == 200
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize(
    "scenario",
    [
        {"model": "llama-3.1-8b", "accelerator": "h100-sxm"},
        "model: llama-3.1-8b\naccelerator: h100-sxm\n",  # a scenario file's text
    ],
)
@pytest.mark.parametrize("op", ["estimate", "montecarlo"])
def test_a_scenario_key_where_the_fields_go_at_the_top_level_is_named(client, op, scenario):
    # estimate and montecarlo take the scenario's fields at the top level; a body that nests
    # them under "scenario" is told so. As text it was answered "model: required (not given)",
    # though the body names a model, one level down
    r = client.post(
        f"/api/v1/{op}",
        json={"scenario": scenario, "samples": 10}
        if op == "montecarlo"
        else {"scenario": scenario},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == (
        f"scenario: {op} takes the scenario's fields at the top level of the body, not under "
        "scenario (see /docs)"
    )


def test_an_unknown_endpoint_names_what_is_served(client):
    # a misspelt operation, or a CLI-only command, got {"detail": "Not Found"}: the line now
    # names the nearest operations and every endpoint the API serves
    r = client.post("/api/v1/estimat", json={})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail.startswith("/api/v1/estimat: no such endpoint; did you mean: estimate")
    served = sorted(n for n in operations.OPERATIONS if n != "catalog")
    assert f"POST /api/v1/OPERATION serves: {', '.join(served)};" in detail
    r = client.post("/api/v1/export-prices", json={})  # CLI-only: no near operation
    assert r.status_code == 404 and "did you mean" not in r.json()["detail"]
    # outside the API a 404 stays as it was
    assert client.get("/no-such-page").json() == {"detail": "Not Found"}


def test_a_wrong_method_names_the_allowed_one(client):
    r = client.get("/api/v1/estimate")
    assert r.status_code == 405
    assert r.json() == {"detail": "GET /api/v1/estimate: not allowed here; allowed: POST"}


@pytest.mark.parametrize("path", ["roadmap", "narrative", "project"])
def test_a_bad_projection_block_in_the_scenario_is_422_wherever_it_is_sent(client, path):
    # roadmap ran on "projection": {"years": 0} (its block unread) without a word, while
    # project refused it; every body's scenario block is now checked as a file's is
    body = {"scenario": {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}}
    body["scenario"] |= {"tokens_per_day": 1e9, "projection": {"years": 0}}
    r = client.post(f"/api/v1/{path}", json=body)
    assert r.status_code == 422
    assert r.json()["detail"] == "projection.years: 0 is out of range; allowed: 1 to 30"
