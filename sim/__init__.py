"""Synthetic mornings: the crowd generator shared by the demo, the benchmarks and the tests."""
