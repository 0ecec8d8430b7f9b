"""api layer of data-exchange-svc."""
