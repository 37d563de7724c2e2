"""Fixtures of the browser tests: the real app (API and page) on a loopback port, and
Debian's chromium driven by Playwright for Python.

``make test`` installs chromium (apt) and axe-core (npm, into ``.cache/axe``) when they are
missing; without them these tests are skipped and say why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TOKENFAB_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(
    os.environ.get("TOKENFAB_AXE_JS", ROOT / ".cache/axe/node_modules/axe-core/axe.min.js")
)
OUT = ROOT / "out" / "web"
"""Screenshots the tests take (ignored by git)."""

# As the device notes advise for a closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The app of ``tokenfab serve`` on a free loopback port; yields its base URL."""
    api = pytest.importorskip("tokenfab.api", reason="tokenfab.api (the HTTP API) is missing")
    from tokenfab.web import background_server

    with background_server(api.create_app()) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open_page(browser: Any, url: str, width: int = 1280, height: int = 900) -> Any:
    """A fresh browser context on ``url``, after the first estimate is shown."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
    return page


@pytest.fixture
def open_page(browser: Any) -> Any:
    """``open_page(url, width=1280, height=900)``: a page in its own browser context."""
    return lambda url, **size: _open_page(browser, url, **size)


@pytest.fixture
def axe_js() -> Path:
    if not AXE_JS.exists():
        pytest.skip(f"{AXE_JS} is missing: `make test` installs axe-core from npm")
    return AXE_JS


@pytest.fixture
def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    p = _open_page(browser, server + "/")
    yield p
    assert not p.js_errors, p.js_errors
    p.context.close()
