"""service layer layer of eseal-svc."""
