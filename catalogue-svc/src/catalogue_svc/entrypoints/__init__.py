"""entrypoints layer of catalogue-svc."""
