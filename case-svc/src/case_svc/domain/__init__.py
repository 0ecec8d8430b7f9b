"""domain layer of case-svc."""
