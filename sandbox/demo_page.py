"""The storefront demo: the three storefront components on a product page, against the simulators.

``python -m sandbox.demo_page [--port N] [--seconds S]`` prints ``{"page": ..., "api": ...}`` and
serves until Ctrl-C (or for S seconds). The page and the storefront API listen on two loopback
ports, so the components call the API cross-origin exactly as on a real storefront, with
``STOREFRONT_ORIGINS`` set to the page's origin. Build the bundle first:
``cd storefront && npm ci && npm run build``.

The simulators are seeded from ``events/storefront/seed.json``: a simple product (``OB-MUG-01``, at
``/``), a configurable one (``OB-TEE`` in sizes and colours, at ``/tee``: its add-to-cart form
has the ``super_attribute[...]`` drop-downs of Luma's product page), a distribution centre, Chicago
pickup stores (one disabled in Commerce) and a Sterling-only node.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sandbox.stack import ApiServer, Sandbox

ROOT = Path(__file__).resolve().parent.parent
BUNDLE_DIR = ROOT / "storefront" / "dist"
SEED_FILE = ROOT / "events" / "storefront" / "seed.json"
SCRIPT = "omsbridge-storefront.js"
STYLESHEET = "omsbridge-storefront.css"
# Only the bundle is served from disk, by exact name: nothing else under the folder is reachable.
ASSETS = {f"/assets/{SCRIPT}": (SCRIPT, "text/javascript; charset=utf-8"),
          f"/assets/{STYLESHEET}": (STYLESHEET, "text/css; charset=utf-8")}
DEMO_SKU = "OB-MUG-01"

PAGE = """<!doctype html>
<html lang="en-US">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - oms-bridge storefront demo</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/assets/{stylesheet}">
  <style>
    body {{ font-family: system-ui, sans-serif; margin: 0; color: #222; }}
    header {{ background: #1d2a3a; color: #fff; padding: 0.75rem 1.5rem; }}
    main {{ display: grid; grid-template-columns: minmax(12rem, 20rem) 1fr; gap: 2rem; padding: 1.5rem; }}
    .photo {{ aspect-ratio: 1; background: linear-gradient(135deg, #e7edf3, #c6d3e1); border-radius: 6px; }}
    .price {{ font-size: 1.5rem; font-weight: 600; }}
    .qty input {{ width: 4rem; padding: 0.3rem; }}
  </style>
</head>
<body>
  <header>oms-bridge storefront demo (simulated Commerce and Sterling)</header>
  <main>
    <div class="photo" role="img" aria-label="Product photo placeholder"></div>
    <div>
      <h1>{title}</h1>
      <p>SKU: <span id="sku">{sku}</span></p>
      <p class="price">{price}</p>
      <form id="product_addtocart_form">{options}
        <p class="qty"><label for="qty">Qty</label> <input id="qty" name="qty" type="number" min="1" value="1"></p>
      </form>
      <div id="stock" data-omsbridge="stock" data-sku="{sku}" data-api="{api}"{configurable}></div>
      <div id="pickup" data-omsbridge="pickup" data-sku="{sku}" data-api="{api}" data-qty-input="#qty"
           data-country="US"{configurable}></div>
      <div id="delivery" data-omsbridge="delivery" data-sku="{sku}" data-api="{api}" data-qty-input="#qty"
           data-country="US"{configurable}></div>
    </div>
  </main>
  <script src="/assets/{script}"></script>
</body>
</html>
"""

# The configurable product: Luma's option fields (super_attribute[<attribute id>]) and what the
# module's product page template gives the components (commerce/ViewModel/Storefront.php).
TEE_SKU = "OB-TEE"
TEE_ATTRIBUTES = {"144": ("Size", {"168": "M", "169": "L"}), "93": ("Color", {"49": "Navy", "58": "Rust"})}
TEE_CHILDREN = [("OB-TEE-M-NAVY", {"144": "168", "93": "49"}), ("OB-TEE-L-NAVY", {"144": "169", "93": "49"}),
                ("OB-TEE-L-RUST", {"144": "169", "93": "58"})]


def _options() -> str:
    fields = []
    for attribute_id, (label, values) in TEE_ATTRIBUTES.items():
        choices = "".join(f'<option value="{value}">{name}</option>' for value, name in values.items())
        fields.append(f'\n        <p><label for="attribute{attribute_id}">{label}</label> '
                      f'<select id="attribute{attribute_id}" name="super_attribute[{attribute_id}]">'
                      f'<option value="">Choose an option...</option>{choices}</select></p>')
    return "".join(fields)


def render_page(api_url: str, sku: str = DEMO_SKU) -> str:
    return PAGE.format(title="Enamel camp mug", price="$14.00", options="", configurable="",
                       api=html.escape(api_url, quote=True), sku=html.escape(sku, quote=True),
                       script=SCRIPT, stylesheet=STYLESHEET)


def render_configurable_page(api_url: str) -> str:
    config = {"form": "#product_addtocart_form",
              "children": [{"sku": sku, "options": options} for sku, options in TEE_CHILDREN]}
    return PAGE.format(title="Trail tee", price="$32.00", options=_options(),
                       configurable=f' data-configurable="{html.escape(json.dumps(config), quote=True)}"',
                       api=html.escape(api_url, quote=True), sku=TEE_SKU, script=SCRIPT, stylesheet=STYLESHEET)


class DemoPage:
    """The product page and the bundle on 127.0.0.1. Bound at once, so its origin is known before
    the API is configured; it serves from ``start``."""

    def __init__(self, bundle_dir: Path = BUNDLE_DIR, port: int = 0) -> None:
        page = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", render_page(page.api_url).encode())
                elif path == "/tee":
                    self._send(200, "text/html; charset=utf-8", render_configurable_page(page.api_url).encode())
                elif path in ASSETS and (bundle_dir / ASSETS[path][0]).is_file():
                    name, content_type = ASSETS[path]
                    self._send(200, content_type, (bundle_dir / name).read_bytes())
                else:
                    self._send(404, "text/plain; charset=utf-8", b"not found")

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

        self.api_url = ""
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        # A short poll interval: stop() waits up to one interval for the serving loop to notice.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="storefront-demo")

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, api_url: str) -> DemoPage:
        self.api_url = api_url
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join(timeout=5)
        self.httpd.server_close()


@dataclass(frozen=True)
class Demo:
    url: str
    api_url: str
    sandbox: Sandbox


def seed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SEED_FILE.read_text())
    return loaded


@contextlib.contextmanager
def demo(port: int = 0, bundle_dir: Path = BUNDLE_DIR, env: dict[str, str] | None = None) -> Iterator[Demo]:
    """The seeded sandbox, its HTTP API allowing the page's origin, and the page."""
    page = DemoPage(bundle_dir, port)
    try:
        with Sandbox(seed=seed(), env={"STOREFRONT_ORIGINS": page.url, **(env or {})}) as sandbox:
            api = ApiServer(sandbox).start()
            try:
                page.start(api.url)
                yield Demo(page.url, api.url, sandbox)
            finally:
                api.stop()
    finally:
        page.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo_page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port of the page (default: any free port)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    args = parser.parse_args(argv)
    if not (BUNDLE_DIR / SCRIPT).is_file():
        parser.error(f"no bundle at {BUNDLE_DIR / SCRIPT}: run `npm ci && npm run build` in storefront/ first")
    with demo(args.port) as running:
        print(json.dumps({"page": running.url, "api": running.api_url}), flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        with contextlib.suppress(KeyboardInterrupt):
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
