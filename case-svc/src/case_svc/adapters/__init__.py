"""adapters layer of case-svc."""
