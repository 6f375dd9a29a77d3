"""Provider drivers: plain Python adapters that read and act on one kind of provider.

Drivers know nothing of Django or the database. ``get_driver_class(kind)`` maps a provider kind
to its driver; ``providers.base`` holds the interface and the record types they yield.
"""

from importlib import import_module

from providers.base import Driver, ProviderError

DRIVERS = {
    "aws": "providers.aws.AwsDriver",
    "openstack": "providers.openstack.OpenStackDriver",
    "redfish": "providers.redfish.RedfishDriver",
    "manual": "providers.manual.ManualDriver",
}


def get_driver_class(kind: str) -> type[Driver]:
    try:
        path = DRIVERS[kind]
    except KeyError:
        raise ProviderError(f"No driver is available for provider kind {kind!r}.") from None
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


__all__ = ["DRIVERS", "Driver", "ProviderError", "get_driver_class"]
