"""The browser tests' fixtures are defined in tests/fixtures/browser.py; imported here, they are this
package's: Chromium starts before its first test and stops after its last, so that no async test
run after this package meets the event loop Playwright's sync API keeps while it is open."""

from __future__ import annotations

from tests.fixtures.browser import browser, context, dashboard, page, portal  # noqa: F401
