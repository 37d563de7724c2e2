"""Test-session set-up: the per-user catalog directory points at an empty temporary folder,
so a developer's own imported rows never change what the tests see."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config) -> None:
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="tokenfab-test-data-")
