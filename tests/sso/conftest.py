"""Fixtures of the sign-in tests: the private slapd (see ``tests/sso/slapd.py``)."""

from tests.sso.slapd import directory

__all__ = ["directory"]
