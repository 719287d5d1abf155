"""Orders through the whole loop under injected faults; prints one JSON line.

    python bench/chaos.py [--orders 500] [--fault-rate 0.2] [--duplicates 2] [--seed 7] [--workers N]

``lost``/``duplicated`` count orders that are missing from Sterling or Commerce, or there twice,
after the DLQ was replayed; ``dlq`` counts the dead-lettered events by reason before the replay.
``--workers`` shares the orders out among that many processes, each with its own sandbox (default:
one per core, at least 100 orders each); ``--workers 1`` runs them all on one sandbox.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import chaos
from sandbox.demo import function_output_to


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--duplicates", type=int, default=2, help="up to this many extra copies of each event")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, help="processes to share the orders out among")
    args = parser.parse_args()
    workers = args.workers or chaos.default_workers(args.orders)
    # The functions log and print metrics on stdout: they go to a file, stdout keeps the one JSON line.
    with function_output_to(Path("artifacts/chaos-functions.log")) as terminal:
        report = chaos.run(orders=args.orders, fault_rate=args.fault_rate, duplicates=args.duplicates,
                           seed_value=args.seed, workers=workers)
        print(json.dumps(report.as_dict()), file=terminal)
    return 0 if report.lost == report.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
