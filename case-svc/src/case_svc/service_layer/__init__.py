"""service layer layer of case-svc."""
