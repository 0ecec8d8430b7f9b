"""service layer layer of catalogue-svc."""
