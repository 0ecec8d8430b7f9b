"""The gateway's I/O: upstream HTTP clients, token verification, Redis buckets, OpenAPI fetching."""
