"""A stand-in driver for API tests, plugged in through the real ``providers.DRIVERS`` seam.

The API's job around a driver is to call it and report what it said; these tests pin that
down without a cloud. The AWS driver itself is tested against moto in tests/providers.
"""

from providers.base import (
    Driver,
    HostRecord,
    HostState,
    ProviderAuthError,
    ScopeDone,
    ScopePlan,
)

# Credentials with this access key id are "rejected" by the stand-in, quoting them back the
# way a careless SDK message might.
REJECTED_KEY_ID = "AKIAREJECTED0000"


class StubDriver(Driver):
    kind = "aws"

    def check(self) -> str:
        if self.credentials.get("access_key_id") == REJECTED_KEY_ID:
            raise ProviderAuthError(
                f"AWS rejected the access key {self.credentials['access_key_id']} "
                f"with secret {self.credentials.get('secret_access_key')}."
            )
        return f"Reached {len(self.settings.get('regions', []))} region(s)."

    def discover(self):
        yield ScopePlan(("eu-west-1",))
        yield HostRecord(
            scope="eu-west-1", external_id="i-stub-1", name="stub-1", state=HostState.RUNNING,
            region="eu-west-1", vcpus=2, memory_mib=4096,
        )
        yield ScopeDone("eu-west-1")
