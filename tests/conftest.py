"""The shared fixtures and helpers live in tests/fixtures/, one module per kind; this file only
loads the fixture modules (the browser ones: tests/browser/conftest.py)."""

from __future__ import annotations

pytest_plugins = ["tests.fixtures.site", "tests.fixtures.simulator", "tests.fixtures.live"]
