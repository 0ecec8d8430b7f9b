"""Gateway rules with no I/O: routes, token buckets, circuit breakers, retry budget, OpenAPI merge."""
