"""Seed catalogue of catalogue-svc: real 跨省通办 items as JSON files and the loader that validates them."""

from catalogue_svc.seed.loader import SeedData, SeedError, SeedItem, SeedSource, load_seed

__all__ = ["SeedData", "SeedError", "SeedItem", "SeedSource", "load_seed"]
