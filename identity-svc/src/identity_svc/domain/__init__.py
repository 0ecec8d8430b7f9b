"""domain layer of identity-svc."""
