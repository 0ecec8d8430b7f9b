"""domain layer of data-exchange-svc."""
