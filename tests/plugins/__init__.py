"""Real plugin modules the tests register (not mocks)."""
