"""entrypoints layer of eseal-svc."""
