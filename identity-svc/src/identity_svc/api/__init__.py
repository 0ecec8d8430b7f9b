"""api layer of identity-svc."""
