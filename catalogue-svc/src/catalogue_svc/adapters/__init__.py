"""adapters layer of catalogue-svc."""
