"""Fuzz layer: hypothesis strategies over the public API, held to one contract (see contract.py)."""
