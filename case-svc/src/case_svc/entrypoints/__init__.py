"""entrypoints layer of case-svc."""
