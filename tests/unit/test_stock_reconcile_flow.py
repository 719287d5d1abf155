"""The reconciliation's pieces that the state machine run (tests/integration/test_stock_sync.py)
does not reach: the task contract, the plan's page boundaries, a page whose items changed since
the plan, the SKU lists of the Commerce searches, and what the sandbox's runner refuses."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from omsbridge.errors import ValidationError
from omsbridge.flows import stock_reconcile
from omsbridge.flows.stock_reconcile import Page, PageTask, PlanTask
from sandbox import states
from sandbox.template import read


class Catalog:
    """Sterling's getItemList as the client answers it: ItemIDs after a key, in ItemID order."""

    def __init__(self, items: list[str]) -> None:
        self.items = sorted(items)
        self.asked: list[tuple[str, int]] = []

    def get_item_ids(self, after: str = "", limit: int = 1000) -> list[str]:
        self.asked.append((after, limit))
        return [item for item in self.items if item > after][:limit]


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    found = Catalog([])
    monkeypatch.setattr(stock_reconcile.sterling, "client", lambda: found)
    return found


def test_a_step_is_recognised_and_a_malformed_one_refused() -> None:
    assert stock_reconcile.task({"Records": []}) is None
    assert stock_reconcile.task({"reconcile": "plan", "input": {}}) == PlanTask(reconcile="plan")
    assert stock_reconcile.task({"reconcile": "page", "nodes": ["dc_1"], "page": {"after": "A", "through": None}}) == (
        PageTask(reconcile="page", nodes=["dc_1"], page=Page(after="A")))
    with pytest.raises(ValidationError, match="not a stock reconciliation step: page: Field required"):
        stock_reconcile.task({"reconcile": "page", "nodes": ["dc_1"]})
    with pytest.raises(ValidationError, match=r"page\.limit: Extra inputs are not permitted"):
        stock_reconcile.task({"reconcile": "page", "nodes": [], "page": {"after": "", "limit": 5}})


@pytest.mark.parametrize(("items", "pages"), [
    ([], [Page()]),
    (["A", "B"], [Page()]),
    (["A", "B", "C"], [Page()]),
    (["A", "B", "C", "D"], [Page(through="C"), Page(after="C")]),
    (["A", "B", "C", "D", "E", "F"], [Page(through="C"), Page(after="C")]),
    (["A", "B", "C", "D", "E", "F", "G"], [Page(through="C"), Page(after="C", through="F"), Page(after="F")]),
])
def test_the_plan_cuts_the_catalog_into_pages_the_last_one_open(
    catalog: Catalog, items: list[str], pages: list[Page],
) -> None:
    catalog.items = items
    assert stock_reconcile._pages(3) == pages


def test_a_page_reads_on_past_items_created_since_the_plan(catalog: Catalog) -> None:
    catalog.items = ["A", "B", "C", "D", "E"]
    [first, second] = stock_reconcile._pages(3)
    catalog.items = ["A", "AA", "AB", "B", "C", "D", "E"]
    assert stock_reconcile.page_items(first, 3) == ["A", "AA", "AB", "B", "C"]
    assert catalog.asked[-2:] == [("", 3), ("AB", 3)]
    assert stock_reconcile.page_items(second, 3) == ["D", "E"]


def test_a_page_whose_last_item_was_deleted_stops_at_the_next_one(catalog: Catalog) -> None:
    catalog.items = ["A", "B", "D"]
    assert stock_reconcile.page_items(Page(through="C"), 2) == ["A", "B"]


def test_sku_lists_stay_short_enough_for_a_url_and_commas_are_searched_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stock_reconcile, "SKU_QUERY_CHARS", 20)
    # Each SKU costs its URL-encoded length plus the encoded comma between them.
    groups = list(stock_reconcile.sku_groups(["AAAA", "BBBB", "C D", "E,F", "GGGGGGGGGGGGGGGGGGGGGG", "H"]))
    assert groups == [(["AAAA", "BBBB"], "in"), ("E,F", "eq"), (["C D"], "in"), (["GGGGGGGGGGGGGGGGGGGGGG"], "in"),
                      (["H"], "in")]


# -- sandbox/states.py: the state machine runner holds the template to what it proves ---------------


PLANNED = {"status": "planned", "nodes": ["n1"], "concurrency": 2, "pages": [{"after": "", "through": None}]}


def definition() -> dict[str, Any]:
    resource = read().resources["StockReconcileStateMachine"]
    return copy.deepcopy(resource["Properties"]["Definition"])


@pytest.mark.parametrize(("change", "refusal"), [
    (lambda d: d["States"]["Plan"].update(Resource="arn:aws:states:::sqs:sendMessage"), "task resource not simulated"),
    (lambda d: d["States"]["Pages"].update(ItemReader={}), "fields not simulated: ['ItemReader']"),
    (lambda d: d["States"]["Plan"].update(Type="Parallel"), "fields not simulated"),
    (lambda d: d.update(QueryLanguage="JSONata"), "state machine fields not simulated: ['QueryLanguage']"),
])
def test_the_runner_refuses_what_it_does_not_simulate(change: Any, refusal: str) -> None:
    changed = definition()
    change(changed)
    with pytest.raises(ValueError, match=re.escape(refusal)):
        states._Machine(changed, lambda name, payload: PLANNED).run({}, {})


def test_the_runner_passes_each_page_its_item_and_the_nodes() -> None:
    seen: list[Any] = []

    def invoke(name: str, payload: Any) -> Any:
        seen.append((name, payload))
        if payload["reconcile"] == "plan":
            return {"status": "planned", "nodes": ["n1"], "concurrency": 2,
                    "pages": [{"after": "", "through": "B"}, {"after": "B", "through": None}]}
        return {"status": "reconciled", "drift": 1}

    output = states._Machine(definition(), invoke).run({"nodes": ["n1"]}, {})
    assert output == {"nodes": ["n1"], "concurrency": 2,
                      "pages": [{"after": "", "through": "B"}, {"after": "B", "through": None}]}
    assert seen == [
        ("${StockSyncFunctionArn}", {"reconcile": "plan", "input": {"nodes": ["n1"]}}),
        ("${StockSyncFunctionArn}", {"reconcile": "page", "nodes": ["n1"], "page": {"after": "", "through": "B"}}),
        ("${StockSyncFunctionArn}", {"reconcile": "page", "nodes": ["n1"], "page": {"after": "B", "through": None}}),
    ]


def test_the_reconciliation_runs_on_its_schedule_only_when_enabled_and_is_the_only_one() -> None:
    stack = read()
    machine = stack.resources["StockReconcileStateMachine"]["Properties"]
    nightly = machine["Events"]["Nightly"]["Properties"]
    assert stack.template["Parameters"]["StockSyncReconcileEnabled"]["Default"] == "false"
    assert nightly["State"] == {"Fn::If": ["StockSyncReconcileOn", "ENABLED", "DISABLED"]}
    assert nightly["Schedule"] == {"Ref": "StockSyncReconcileSchedule"}
    assert nightly["Input"] == "{}"
    assert nightly["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["StockSyncDeadLetterQueue", "Arn"]}}
    assert machine["DefinitionSubstitutions"] == {"StockSyncFunctionArn": {"Fn::GetAtt": ["StockSyncFunction", "Arn"]}}
    assert machine["Definition"]["States"]["Pages"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    # The stock function itself no longer runs a reconciliation of its own on a schedule.
    assert [name for name, function in stack.functions.items() if function.schedules] == []
