"""The chaos run: orders through the whole loop at a 20% fault rate, every event delivered up to
three times and reordered, with untrusted input all along, slim order events and a second website.
Nothing may be lost, duplicated or applied that should not be; the DLQ holds only events that carry
their reason, and replaying it after the fix completes them.

``make test`` runs it with 25 orders (one batch, one pickup at the unmapped store);
``make test-all`` also runs the 500-order run (``bench/chaos.py`` prints its figures)."""

from __future__ import annotations

import pytest

from sandbox import chaos


@pytest.mark.parametrize("orders", [
    pytest.param(25, id="25-orders"),
    pytest.param(500, id="500-orders", marks=pytest.mark.slow),
])
def test_nothing_lost_nothing_duplicated_at_twenty_percent_faults(orders: int) -> None:
    report = chaos.run(orders=orders, fault_rate=0.2, duplicates=2, seed_value=11)
    summary = report.as_dict()
    assert report.faults_injected > orders, summary
    assert report.duplicates_delivered > orders, summary
    assert (report.lost, report.duplicated, report.stock_mismatches) == (0, 0, 0), summary
    assert report.dlq_without_reason == 0, summary
    # Another enterprise's documents, availability Commerce cannot hold, absurd cart quantities.
    assert report.untrusted_sent > orders // 2, summary
    assert report.untrusted_applied == 0, summary
    foreign = sum(n for reason, n in report.dlq.items() if f"Sterling enterprise '{chaos.OTHER_ENTERPRISE}'" in reason)
    assert foreign >= 2 * orders // chaos.FOREIGN_EVERY, "every foreign document was parked with its reason"
    unmapped = sum(n for reason, n in report.dlq.items() if chaos.UNMAPPED_STORE in reason)
    assert unmapped >= orders // chaos.PICKUP_EVERY >= 1, "each pickup at the unmapped store was parked with its reason"
    # Slim events read from Commerce, a second website's orders in their own enterprise and store.
    assert report.slim_events >= orders // chaos.SLIM_EVERY, summary
    assert report.second_website_orders >= orders // (2 * chaos.SECOND_WEBSITE_EVERY), summary
    assert report.misrouted == 0, summary
    assert report.replayed == sum(report.dlq.values()), summary
    assert report.refused == 0, "replay refused a record the stack wrote itself"
