"""The chaos run: orders through the whole loop at a 20% fault rate, every event delivered up to
three times and reordered, with untrusted input all along, slim order events and a second website.
Nothing may be lost, duplicated or applied that should not be; the DLQ holds only events that carry
their reason, and replaying it after the fix completes them.

``make test`` runs it with 25 orders (one batch, one pickup at the unmapped store);
``make test-all`` also runs the 500-order run and 40 orders shared out among two processes, as
``bench/chaos.py`` shares out its runs among the cores."""

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


@pytest.mark.slow
def test_a_run_shared_out_among_processes_checks_every_share() -> None:
    numbers = chaos.order_numbers(40)
    report = chaos.run(orders=40, fault_rate=0.2, duplicates=2, seed_value=11, workers=2)
    summary = report.as_dict()
    assert (report.orders, report.workers) == (40, 2), summary
    assert (report.lost, report.duplicated, report.stock_mismatches, report.misrouted) == (0, 0, 0, 0), summary
    assert report.problems == [], summary
    # Each share placed its own range of the orders: the figures of both add up to the whole run's.
    assert report.slim_events == sum(int(number) % chaos.SLIM_EVERY == 0 for number in numbers), summary
    assert report.second_website_orders == sum(map(chaos.on_second_website, numbers)), summary
    assert report.faults_injected > 40, summary
    assert report.untrusted_applied == 0, summary
    assert report.replayed == sum(report.dlq.values()), summary
