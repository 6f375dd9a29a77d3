"""The driver behind hand-registered hosts: there is no provider to talk to.

Hosts of a ``manual`` provider come from the registration form, the API and the CSV import,
never from a sync, so discovery is refused rather than answered with an empty list (which the
sync engine would read as "every host is gone").
"""

from collections.abc import Iterator

from providers.base import Driver, Item, NotSupported


class ManualDriver(Driver):
    kind = "manual"

    def check(self) -> str:
        return "Hosts registered by hand: there is nothing to connect to."

    def discover(self) -> Iterator[Item]:
        raise NotSupported(
            "Hand-registered hosts are not synced; edit them in the portal or re-import the CSV."
        )
