"""adapters layer of eseal-svc."""
