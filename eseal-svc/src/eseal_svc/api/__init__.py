"""api layer of eseal-svc."""
