"""Headless benchmarks; each prints one JSON object."""
