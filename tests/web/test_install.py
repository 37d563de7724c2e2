"""tokenfab.web.install without a browser: what the app serves, and the report endpoint's
answers (HTML, PDF, one-line 422s, the body cap)."""

from __future__ import annotations

import re

import pytest

from tokenfab import web

fastapi = pytest.importorskip("fastapi")
testclient = pytest.importorskip("fastapi.testclient")

START = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 8, "precision": "fp8"}


@pytest.fixture(scope="module")
def client():
    app = fastapi.FastAPI()
    web.install(app)
    return testclient.TestClient(app)


def test_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # every script and style the page loads is served by the app itself: no CDN
    refs = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert refs, page.text[:200]
    for ref in refs:
        if ref.startswith("data:") or ref == "docs":
            continue
        assert not ref.startswith(("http:", "https:", "//")), ref
        r = client.get("/" + ref)
        assert r.status_code == 200, ref
    js = client.get("/vendor/plotly.min.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert js.content == web.plotly_js().read_bytes()


def test_static_files_are_package_data():
    # pyproject's package-data ships web/static/*: the three files the page needs are there
    assert {p.name for p in web.STATIC_DIR.iterdir()} >= {"index.html", "app.js", "style.css"}


def test_report_endpoint_returns_the_html_report(client):
    r = client.post("/api/v1/report", json=START)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "tokenfab report: llama-3.1-70b on 8 x h100-sxm" in r.text
    assert "Assumptions ledger" in r.text


def test_report_endpoint_refuses_a_key_given_twice(client):
    # as POST /api/v1/estimate does: the report of llama-3.1-70b was written for a body that
    # also named llama-3.1-8b first
    body = b'{"model": "llama-3.1-8b", "model": "llama-3.1-70b", "accelerator": "h100-sxm"}'
    r = client.post("/api/v1/report", content=body)
    assert r.status_code == 422
    assert r.json()["detail"] == "model: given more than once in the body; give each key once"


def test_report_endpoint_pdf(client):
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:  # pragma: no cover - make test installs pango
        pytest.skip(f"WeasyPrint's system libraries are missing: {exc}")
    r = client.post("/api/v1/report?format=pdf", json=START)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        # the field, as /api/v1/estimate names it (it named the catalog, "accelerators:")
        ({**START, "accelerator": "h100-sxx"}, 422, "accelerator: unknown id 'h100-sxx' in "),
        ({**START, "accelerators": 0}, 422, "accelerators"),
        ({**START, "colour": "red"}, 422, "colour"),
        ("not json", 422, "body: not JSON"),
        # was "Input should be a valid dictionary or instance of EstimateRequest": no field
        ("[1]", 422, "body: a JSON object of field: value (got list)"),
        ("?format=docx", 422, "format: html or pdf (got 'docx')"),
        ({"model": "x" * (web.REPORT_MAX_BODY_BYTES + 1)}, 413, "body: at most 65536 bytes"),
    ],
)
def test_report_endpoint_refuses_with_one_line(client, body, status, message):
    if isinstance(body, str) and body.startswith("?"):  # a bad query, a good body
        r = client.post("/api/v1/report" + body, json=START)
    elif isinstance(body, str):
        r = client.post(
            "/api/v1/report", content=body, headers={"content-type": "application/json"}
        )
    else:
        r = client.post("/api/v1/report", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert message in detail
    assert "\n" not in detail
