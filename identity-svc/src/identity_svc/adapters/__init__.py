"""adapters layer of identity-svc."""
