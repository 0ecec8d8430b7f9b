"""The gateway's ASGI application: the proxy hot path and the gateway's own endpoints."""
