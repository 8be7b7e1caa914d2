"""Adapters to source systems (monopoly, marketing, logistics), each a plugin."""
