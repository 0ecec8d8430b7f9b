"""service layer layer of identity-svc."""
