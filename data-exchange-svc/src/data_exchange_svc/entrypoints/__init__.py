"""entrypoints layer of data-exchange-svc."""
