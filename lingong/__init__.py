"""The `lingong` command line: the root parser, the demo, and the operator commands."""
