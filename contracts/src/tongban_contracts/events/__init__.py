"""One Pydantic model per event version, one module per producing service."""
