"""Scheduling: the pure placement decision and the loop that applies it."""
