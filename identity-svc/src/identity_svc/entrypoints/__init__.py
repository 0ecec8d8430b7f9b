"""entrypoints layer of identity-svc."""
