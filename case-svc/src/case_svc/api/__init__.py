"""api layer of case-svc."""
