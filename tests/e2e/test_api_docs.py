"""The API docs in headless Chromium: Swagger UI from our own static files, under the page policy
(a violation fails the test, see conftest), nothing fetched from another host."""

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_the_schema_from_our_own_files(page, login, e2e):
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    login(page, "dispatcher")
    page.goto(e2e.url("/api/docs/"))
    page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)  # the operations, from /api/schema/
    assert hosts == {urlsplit(e2e.base_url).netloc}
