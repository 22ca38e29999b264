"""The ranking page's "Publish" button in Chromium: what only a browser proves — the ES module
reads its configuration from json_script, asks to confirm on the button, posts to the API with the
session's CSRF token and an Idempotency-Key, and the reloaded page shows the frozen publication."""

import pytest
from django.utils import timezone

from reports.periods import month_param

pytestmark = pytest.mark.browser


def test_publishing_the_months_ranking_from_the_page(page, login, e2e, artifacts_dir):
    month = month_param(None, default_today=timezone.localdate()).key  # the month just ended
    login(page, "command")
    page.goto(e2e.url(f"/reports/ranking/?month={month}"))
    status = page.locator('[data-testid="ranking-status"]')
    assert status.get_attribute("data-published") == "false"
    button = page.locator('[data-testid="publish"]')
    button.click()  # the first click asks to confirm on the button itself
    assert month in button.inner_text()
    assert page.locator('[data-testid="ranking-status"]').get_attribute("data-published") == "false"
    with page.expect_navigation():
        button.click()
    page.wait_for_selector('[data-testid="ranking-status"][data-published="true"]')
    assert page.locator('[data-testid="publish"]').count() == 0
    page.screenshot(path=str(artifacts_dir / "ranking-published.png"), full_page=True)
