"""lingong package."""
