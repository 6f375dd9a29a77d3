"""The registry keeps no tables of its own.

Hand-registered hosts are inventory ``Host`` rows of each tenant's ``manual`` provider (see
``portal.registry.manual``), so lists, metering and billing treat them like synced hosts.
"""
