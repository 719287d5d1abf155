"""sandbox.demo_page: the page it serves, and that only the bundle is served from disk."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo_page import DemoPage, render_page


@pytest.fixture
def page(tmp_path: Path) -> Iterator[DemoPage]:
    bundle = tmp_path / "dist"
    bundle.mkdir()
    (bundle / "omsbridge-storefront.js").write_text("var OmsBridgeStorefront = {};")
    (bundle / "omsbridge-storefront.css").write_text(".omsb {}")
    (tmp_path / "secret.txt").write_text("not for the browser")
    demo = DemoPage(bundle).start("http://127.0.0.1:9/api")
    yield demo
    demo.stop()


def fetch(page: DemoPage, path: str) -> tuple[int, str, str]:
    host, port = page.httpd.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        connection.close()


def test_the_page_mounts_the_three_components_against_the_api(page: DemoPage) -> None:
    status, content_type, body = fetch(page, "/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    for component in ("stock", "pickup", "delivery"):
        assert f'data-omsbridge="{component}" data-sku="OB-MUG-01" data-api="http://127.0.0.1:9/api"' in body
    assert '<script src="/assets/omsbridge-storefront.js"></script>' in body


@pytest.mark.parametrize(("path", "content_type", "body"), [
    ("/assets/omsbridge-storefront.js", "text/javascript; charset=utf-8", "var OmsBridgeStorefront = {};"),
    ("/assets/omsbridge-storefront.css?v=1", "text/css; charset=utf-8", ".omsb {}"),
])
def test_the_bundle_is_served(page: DemoPage, path: str, content_type: str, body: str) -> None:
    assert fetch(page, path) == (200, content_type, body)


@pytest.mark.parametrize("path", ["/assets/../secret.txt", "/assets/%2e%2e/secret.txt", "/secret.txt",
                                  "/assets/", "/storefront/stock?sku=OB-MUG-01"])
def test_nothing_else_is_served(page: DemoPage, path: str) -> None:
    assert fetch(page, path)[0] == 404


def test_values_are_escaped_into_the_page() -> None:
    html = render_page('http://x/"><script>alert(1)</script>', sku="A&B")
    assert "<script>alert(1)" not in html
    assert 'data-api="http://x/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'data-sku="A&amp;B"' in html
