"""`make demo` runs ``python -m sandbox demo``: it must hold, and say what it did."""

from __future__ import annotations

import io

from sandbox import demo


def test_the_demo_holds_and_tells_the_story() -> None:
    out = io.StringIO()
    line = demo.Timeline(verbose=True, out=out)
    assert demo.run_lifecycle(line) == 0
    story = out.getvalue()
    for step in ("createOrder 000000617", "released to node default", "label for BOX-1", "label for BOX-2",
                 "confirmed SH-617 shipped", "shipment created with tracking", "source item DEMO-MUG/default = 3",
                 "'op': 'exception'", "14 checks held"):
        assert step in story, step
    history = story.split("oldest first:")[1]
    assert history.index("Created in Sterling") < history.index("Scheduled") < history.index("Released")
