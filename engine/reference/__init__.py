"""Reference data generated from vendored public sources (see each module's header)."""
