"""`make demo` runs ``python -m sandbox demo``: it must hold, and say what it did — with Sterling's
events posted by Sterling, or arriving through Adobe I/O Events as IBM's OMS layer publishes them."""

from __future__ import annotations

import io

import pytest

from sandbox import cli, demo


def test_the_demo_holds_and_tells_the_story() -> None:
    out = io.StringIO()
    line = demo.Timeline(verbose=True, out=out)
    assert demo.run_lifecycle(line) == 0
    story = out.getvalue()
    for step in ("createOrder 000000617", "released to node default", "label for BOX-1", "label for BOX-2",
                 "confirmed SH-617 shipped", "shipment created with tracking", "source item DEMO-MUG/default = 3",
                 "'op': 'exception'", "0 through Adobe I/O Events, 8 posted directly", "15 checks held"):
        assert step in story, step
    history = story.split("oldest first:")[1]
    assert history.index("Created in Sterling") < history.index("Scheduled") < history.index("Released")
    assert history.index("Released") < history.index("Shipment SH-617 created in Sterling at node default")


def test_the_demo_holds_with_sterling_events_through_adobe_io_events() -> None:
    out = io.StringIO()
    assert demo.run_lifecycle(demo.Timeline(verbose=True, out=out), sterling_via="io-events") == 0
    story = out.getvalue()
    for step in ("createOrder 000000617", "the WMS received the release", "shipment created with tracking",
                 "source item DEMO-MUG/default = 3", "7 through Adobe I/O Events, 1 posted directly "
                 "(shipment.ready_to_ship)", "16 checks held"):
        assert step in story, step
    history = story.split("oldest first:")[1]
    assert history.index("Created in Sterling") < history.index("Released") < history.index("Shipment SH-617")


def test_the_command_line_takes_the_door(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[str] = []
    monkeypatch.setattr(demo, "run_demo", lambda verbose, sterling_via: chosen.append(sterling_via) or 0)
    assert cli.main(["demo", "--quiet", "--sterling-via", "io-events"]) == 0
    assert cli.main(["demo", "--quiet"]) == 0
    assert chosen == ["io-events", "direct"]
    with pytest.raises(SystemExit):
        cli.main(["demo", "--sterling-via", "carrier-pigeon"])
