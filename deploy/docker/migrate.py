"""Upgrade one service's database to the newest revision; the chart runs it as a pre-upgrade hook.

Usage: ``python /app/deploy/migrate.py /app/<service-dir> <PREFIX>DATABASE_URL``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the service's Alembic chain to head against the URL held by the named variable."""
    parser = argparse.ArgumentParser(description="upgrade a Tongban service database to head")
    parser.add_argument("service_root", type=Path, help="the service folder holding alembic.ini")
    parser.add_argument("url_variable", help="the environment variable holding the database URL")
    args = parser.parse_args(argv)
    if not (args.service_root / "alembic.ini").is_file():
        print(f"migrate: no alembic.ini in {args.service_root}", file=sys.stderr)
        return 2
    url = os.environ.get(args.url_variable, "")
    if not url:
        print(f"migrate: {args.url_variable} is not set", file=sys.stderr)
        return 2
    # Imported late so that a usage error needs no installed service.
    from tongban_kit.migrations import upgrade

    upgrade(args.service_root, url)
    print(f"migrate: {args.service_root.name} is at head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
