"""Loopback servers that speak a provider's wire format, for the demo estate and the tests.

Each module starts its server on 127.0.0.1 only, and whoever starts a server stops it.
"""
