"""Spiders: one small declarative class per site section, on a shared base."""
