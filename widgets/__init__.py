"""Reusable Textual widgets: they take plain values, post messages, and know no cache."""
