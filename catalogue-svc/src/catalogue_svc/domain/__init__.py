"""Domain layer of catalogue-svc: items, versions, region implementations, FAQ, search tokens (no I/O)."""
