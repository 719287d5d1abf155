"""The Commerce module in commerce/: well-formed XML, and its parts agreeing with each other, with the
storefront bundle and with the stack (the events it subscribes are the ones the template routes)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from sandbox import template

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "commerce"
# What vite writes into the module (storefront/vite.config.js).
BUNDLE_FILES = {"omsbridge-storefront.js", "omsbridge-storefront.css"}
NAMESPACE = "OmsBridge\\Connector\\"
XML_FILES = sorted(path.relative_to(MODULE).as_posix() for path in MODULE.rglob("*.xml"))
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def parse(name: str) -> ET.Element:
    return ET.parse(MODULE / name).getroot()  # noqa: S314 - our own files


def php_class_file(name: str) -> Path:
    assert name.startswith(NAMESPACE), name
    return MODULE / (name.removeprefix(NAMESPACE).replace("\\", "/") + ".php")


def test_the_module_has_the_files_of_the_issue() -> None:
    assert {"etc/module.xml", "etc/io_events.xml", "etc/webhooks.xml", "etc/config.xml", "etc/acl.xml",
            "etc/adminhtml/system.xml", "etc/adminhtml/di.xml", "etc/di.xml",
            "view/frontend/layout/catalog_product_view.xml"} <= set(XML_FILES)


@pytest.mark.parametrize("name", XML_FILES)
def test_every_xml_file_is_well_formed_and_names_its_schema(name: str) -> None:
    root = parse(name)
    assert (root.get(f"{XSI}noNamespaceSchemaLocation") or "").startswith("urn:magento:")


def test_one_module_name_everywhere() -> None:
    registration = (MODULE / "registration.php").read_text()
    assert "ComponentRegistrar::register(ComponentRegistrar::MODULE, 'OmsBridge_Connector', __DIR__);" in registration
    assert parse("etc/module.xml").find("module").get("name") == "OmsBridge_Connector"  # type: ignore[union-attr]
    composer = json.loads((MODULE / "composer.json").read_text())
    assert composer["type"] == "magento2-module"
    assert composer["autoload"] == {"files": ["registration.php"], "psr-4": {NAMESPACE: ""}}


def test_every_php_file_declares_the_class_its_path_names() -> None:
    classes = sorted(MODULE.glob("[A-Z]*/**/*.php"))
    assert classes
    for path in classes:
        source = path.read_text()
        relative = path.relative_to(MODULE).with_suffix("")
        namespace = NAMESPACE + "\\".join(relative.parts[:-1])
        assert source.startswith("<?php\ndeclare(strict_types=1);\n")
        assert f"namespace {namespace};" in source
        assert re.search(rf"^class {relative.name}\b", source, re.MULTILINE)


def test_admin_plugins_and_their_actions_exist() -> None:
    di = parse("etc/adminhtml/di.xml")
    virtual = {node.get("name"): node for node in di.iter("virtualType")}
    config_php = (MODULE / "Model" / "Config.php").read_text()
    for node in virtual.values():
        assert php_class_file(str(node.get("type"))).is_file()
        for argument in node.iter("argument"):
            constant = str(argument.text).removeprefix(f"{NAMESPACE}Model\\Config::")
            assert f"public const {constant} = " in config_php
    plugins = [plugin.get("type") for plugin in di.iter("plugin")]
    assert plugins
    for plugin in plugins:
        assert plugin in virtual or php_class_file(str(plugin)).is_file()
    guarded = {node.get("name"): node.find("plugin").get("type")  # type: ignore[union-attr]
               for node in di.iter("type") if "Controller" in str(node.get("name"))}
    assert set(guarded.values()) == {f"{NAMESPACE}Plugin\\Adminhtml\\Guard{action}"
                                     for action in ("Ship", "Invoice", "Creditmemo")}


def test_every_setting_has_a_default_and_is_read() -> None:
    system = parse("etc/adminhtml/system.xml")
    defaults = parse("etc/config.xml").find("default")
    config_php = (MODULE / "Model" / "Config.php").read_text()
    acl = {node.get("id") for node in parse("etc/acl.xml").iter("resource")}
    (section,) = system.iter("section")
    assert section.findtext("resource") in acl
    paths = [f"{section.get('id')}/{group.get('id')}/{field.get('id')}"
             for group in section.findall("group") for field in group.findall("field")]
    assert len(paths) == 6
    assert defaults is not None
    for path in paths:
        assert defaults.find(path) is not None, path
        assert f"'{path}'" in config_php, path


def test_the_product_page_loads_the_built_bundle_and_the_template_it_names() -> None:
    layout = parse("view/frontend/layout/catalog_product_view.xml")
    (block,) = [b for b in layout.iter("block") if "OmsBridge" in str(b.get("template"))]
    module, file = str(block.get("template")).split("::")
    assert module == "OmsBridge_Connector"
    assert (MODULE / "view" / "frontend" / "templates" / file).is_file()
    view_model = block.find("arguments/argument")
    assert view_model is not None
    assert php_class_file(str(view_model.text)).is_file()
    vite = (ROOT / "storefront" / "vite.config.js").read_text()
    (css,) = layout.iter("css")
    assert css.get("src") == "OmsBridge_Connector::storefront/omsbridge-storefront.css"
    assert "cssFileName: 'omsbridge-storefront'" in vite
    assert "fileName: () => 'omsbridge-storefront.js'" in vite
    view_model_php = (MODULE / "ViewModel" / "Storefront.php").read_text()
    assert "'OmsBridge_Connector::storefront/omsbridge-storefront.js'" in view_model_php
    package = json.loads((ROOT / "storefront" / "package.json").read_text())
    assert "--outDir ../commerce/view/frontend/web/storefront" in package["scripts"]["build:commerce"]


def test_the_template_escapes_what_it_prints() -> None:
    template_text = (MODULE / "view/frontend/templates/product/availability.phtml").read_text()
    printed = re.findall(r"<\?=(.*?)\?>", template_text, re.DOTALL)
    assert printed
    assert all("@noEscape" in expression for expression in printed)
    assert template_text.count("escapeHtmlAttr(") == 4


def commerce_event_types() -> set[str]:
    routed: set[str] = set()
    for rule in template.read().rules:
        if "adobe.commerce" in rule.pattern.get("source", []):
            routed.update(rule.pattern.get("detail-type", []))
    return routed


def test_io_events_subscribe_exactly_the_commerce_events_the_stack_routes() -> None:
    events = parse("etc/io_events.xml")
    names = {f"com.adobe.commerce.{event.get('name')}" for event in events.iter("event")}
    assert names == commerce_event_types()
    fields = {str(event.get("name")): [str(field.get("name")) for field in event.iter("field")]
              for event in events.iter("event")}
    for name in ("observer.sales_order_place_after", "observer.sales_order_save_commit_after"):
        assert {"increment_id", "state", "updated_at", "items[].sku", "items[].qty_ordered", "payment.method",
                "addresses[].address_type"} <= set(fields[name])
    for name in ("observer.sales_order_invoice_save_commit_after", "observer.sales_order_creditmemo_save_commit_after"):
        assert {"entity_id", "order_id", "items[].order_item_id", "items[].qty"} <= set(fields[name])
    rma = set(fields["observer.rma_save_commit_after"])
    assert {"entity_id", "increment_id", "status", "items[].order_item_id"} <= rma
    for names in fields.values():
        assert len(names) == len(set(names))
        # Card data stops at the last four digits.
        assert not [name for name in names if re.search(r"cc_number|cc_cid|additional_information|\*", name)]


def test_the_stock_check_webhooks_point_at_the_stacks_route() -> None:
    stack = yaml.load((ROOT / "template.yaml").read_text(), Loader=template._CfnLoader)  # noqa: S506
    route = stack["Resources"]["StockCheckFunction"]["Properties"]["Events"]["StockCheck"]["Properties"]["Path"]
    hooks = list(parse("etc/webhooks.xml").iter("hook"))
    assert hooks
    assert {hook.get("url") for hook in hooks} == {f"{{env:OMS_BRIDGE_URL}}{route}"}


def test_the_product_page_gives_the_components_what_they_follow_a_configurables_options_by() -> None:
    """The template's data-configurable (ViewModel::configurableJson) is what storefront/src/options.js
    reads: the add-to-cart form and each child's option values by attribute id, as Luma's form names
    them (super_attribute[<attribute id>]); the demo page's configurable product is built the same way."""
    view_model = (MODULE / "ViewModel" / "Storefront.php").read_text()
    options_js = (ROOT / "storefront" / "src" / "options.js").read_text()
    demo_page = (ROOT / "sandbox" / "demo_page.py").read_text()
    assert "public const ADD_TO_CART_FORM = '#product_addtocart_form';" in view_model
    assert "['form' => self::ADD_TO_CART_FORM, 'children' => $children]" in view_model
    assert "['sku' => (string)$child->getSku(), 'options' => $options]" in view_model
    for read in ("config.form", "config.children", "candidate.options", "super_attribute[${id}]"):
        assert read in options_js
    assert 'id="product_addtocart_form"' in demo_page
    assert 'name="super_attribute[{attribute_id}]"' in demo_page
    assert "import { followOptions } from './options.js';" in (ROOT / "storefront" / "src" / "main.jsx").read_text()


def magento_modules_used() -> set[str]:
    """Every Magento module the module's code and configuration name (PHP classes, XML schemas and
    resources), as Composer package names."""
    sources = sorted(path for path in MODULE.rglob("*") if path.suffix in (".php", ".xml", ".phtml"))
    text = "\n".join(path.read_text() for path in sources)
    names = set(re.findall(r"\bMagento\\([A-Z][A-Za-z]+)\\", text))
    names |= set(re.findall(r"urn:magento:module:Magento_([A-Za-z]+)", text))
    names |= set(re.findall(r"\bMagento_([A-Za-z]+)::", text))
    names -= {"AdobeCommerceEventsClient", "AdobeCommerceWebhooks"}  # Adobe's own: suggested, see composer.json
    return {"magento/framework" if name == "Framework" else
            "magento/module-" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in names}


def test_composer_requires_every_magento_module_the_code_uses_and_no_other() -> None:
    composer = json.loads((MODULE / "composer.json").read_text())
    required = {name for name in composer["require"] if name != "php"}
    assert required == magento_modules_used()
    assert set(composer["suggest"]) == {"magento/module-adobe-commerce-events-client",
                                        "magento/module-adobe-commerce-webhooks"}


def test_the_storefront_api_is_allowed_by_csp_from_the_configured_url_not_a_fixed_region() -> None:
    di = parse("etc/di.xml")
    (item,) = [item for item in di.iter("item") if item.get("name") == "oms_bridge_storefront_api"]
    collector = php_class_file(str(item.text))
    source = collector.read_text()
    assert "implements PolicyCollectorInterface" in source
    assert "new FetchPolicy('connect-src', false, [$origin])" in source
    assert "$this->config->storefrontApiUrl(" in source
    assert not (MODULE / "etc" / "csp_whitelist.xml").exists()


def test_npm_run_build_commerce_writes_where_the_repository_keeps_nothing() -> None:
    """The build empties its output folder (vite's emptyOutDir): nothing of the repository's may live
    there, only what an earlier build wrote, and git ignores it."""
    package = json.loads((ROOT / "storefront" / "package.json").read_text())
    assert package["scripts"]["build:commerce"] == "vite build --outDir ../commerce/view/frontend/web/storefront"
    output = MODULE / "view" / "frontend" / "web" / "storefront"
    found = sorted(path.name for path in output.rglob("*")) if output.exists() else []
    assert set(found) <= BUNDLE_FILES
    assert "/view/frontend/web/storefront/" in (MODULE / ".gitignore").read_text().splitlines()


def test_the_composer_package_ships_the_built_bundle(tmp_path: Path) -> None:
    from tools import commerce_module

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "omsbridge-storefront.js").write_text("var OmsBridgeStorefront = {};")
    (bundle / "omsbridge-storefront.css").write_text(".omsb {}")

    assert commerce_module.main(["--bundle", str(bundle), "--output", str(tmp_path / "dist")]) == 0

    (archive,) = (tmp_path / "dist").glob("*.zip")
    assert archive.name == "oms-bridge-module-connector-1.0.0.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert json.loads(zipped.read("composer.json"))["name"] == "oms-bridge/module-connector"
        assert zipped.read("view/frontend/web/storefront/omsbridge-storefront.js") == b"var OmsBridgeStorefront = {};"
    assert {"registration.php", "etc/module.xml", "etc/di.xml", "view/frontend/web/storefront/omsbridge-storefront.css",
            "ViewModel/Storefront.php"} <= names
    assert not [name for name in names if any(part.startswith(".") for part in name.split("/"))]


def test_the_composer_package_refuses_to_ship_without_the_bundle(tmp_path: Path) -> None:
    from tools import commerce_module

    assert commerce_module.main(["--bundle", str(tmp_path), "--output", str(tmp_path / "dist")]) == 1
    assert not (tmp_path / "dist").exists()


def test_the_install_docs_name_what_makes_commerce_send_the_events() -> None:
    readme = (MODULE / "README.md").read_text()
    for step in ("bin/magento events:create-event-provider", "bin/magento events:metadata:populate",
                 "event_data_batch_send", "composer config repositories.oms-bridge artifact",
                 "python tools/commerce_module.py"):
        assert step in readme, step
