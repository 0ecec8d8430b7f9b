"""service layer layer of data-exchange-svc."""
