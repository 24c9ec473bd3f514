"""Tooling for the local stack and the tests (never packaged into a Lambda)."""
