#!/usr/bin/env python
"""Moved: the city generator is `fixtures.city` now, and `manage.py seed_city` its command (into an
empty, migrated database). This shim keeps the old import (`import city_history` beside the
benchmarks) and the old command line, which generates into a throwaway database:

    .venv/bin/python tests/bench/city_history.py --incidents 200000 [--subdistricts 190]
        [--years Y] [--seed 14] [--anchor YYYY-MM-DD] [--workers 2] [--timeline-days 7]
        [--database NAME --keep]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fixtures.city import (  # noqa: E402, F401 - re-exported
    SHANGHAI,
    CityNotEmpty,
    CityStats,
    Reporter,
    drop_database,
    generate,
    occupied,
    span,
    throwaway_database,
    use_database,
)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subdistricts", type=int, default=190)
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("CITY_INCIDENTS", 10_000_000)))
    parser.add_argument("--years", type=float, default=None, help="the span (default: at the demo's rate)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--anchor", type=date.fromisoformat, default=None, help="the history ends at this day's start")
    parser.add_argument("--workers", type=int, default=None, help="connections loading at once (default: CPUs, ≤ 4)")
    parser.add_argument("--timeline-days", type=int, default=7)
    parser.add_argument("--database", default=None, help="database name (default: city_<pid>)")
    parser.add_argument("--keep", action="store_true", help="keep the database (else it is dropped at the end)")
    args = parser.parse_args()
    setup_django()
    name = args.database or f"city_{os.getpid()}"
    original = throwaway_database(name)
    try:
        from django.db import connection

        generate(connection, subdistricts=args.subdistricts, incidents=args.incidents, years=args.years,
                 seed=args.seed, anchor=args.anchor, workers=args.workers, timeline_days=args.timeline_days)
    finally:
        if args.keep:
            print(f"city: kept database {name}")
        else:
            drop_database(original)
    return 0


if __name__ == "__main__":
    sys.exit(main())
