"""The shell around the core: runtime (engine + log + keys + clock), service, sealing, serve."""
