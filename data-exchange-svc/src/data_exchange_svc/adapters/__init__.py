"""adapters layer of data-exchange-svc."""
