"""Shipped reference data (code lists, boundaries) as pure constants: no disk reads at run time."""
