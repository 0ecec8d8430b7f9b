"""api layer of catalogue-svc."""
