"""The README's picture of the web calculator: ``docs/calculator.png`` (``make docs`` runs it).

Starts the app of ``tokenfab serve`` on a loopback port, opens the calculator in Debian's
chromium (Playwright) at 1280 x 1200 and saves what the screen shows once the first estimate
and its frontier chart are drawn. Without chromium it says so and leaves the picture as it is.

    python docs/screenshot.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "calculator.png"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> int:
    if not CHROMIUM.exists():
        print(f"screenshot: {CHROMIUM} is missing (make test installs it); {PICTURE} unchanged")
        return 0
    from playwright.sync_api import sync_playwright

    try:
        from tokenfab.api import create_app
    except ImportError:
        print(f"screenshot: tokenfab.api (the HTTP API) is missing; {PICTURE} unchanged")
        return 0
    from tokenfab.web import background_server

    with background_server(create_app()) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
        page.wait_for_selector("#panel-frontier[data-state=ready]", state="attached")
        page.wait_for_timeout(500)  # Plotly's transition
        page.screenshot(path=str(PICTURE))
        browser.close()
    print(f"wrote {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
