"""`python -m identity_svc ...`."""

from identity_svc.entrypoints.cli import main

raise SystemExit(main())
