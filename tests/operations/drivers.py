"""A stand-in driver whose hosts reach the asked power state a few reads after being asked.

Plugged in through the real ``providers.DRIVERS`` seam like tests.api.drivers.StubDriver. Its
"cloud" is ``ESTATE``, one module-level object the ``fake_cloud`` fixture resets, because the
portal builds a new driver for every task.
"""

from dataclasses import dataclass, field

from providers.base import (
    Driver,
    HostRecord,
    HostState,
    PowerAction,
    ProviderError,
    ScopeDone,
    ScopePlan,
)

TARGETS = {
    PowerAction.ON: HostState.RUNNING,
    PowerAction.OFF: HostState.STOPPED,
    PowerAction.FORCE_OFF: HostState.STOPPED,
    PowerAction.RESTART: HostState.RUNNING,
}


@dataclass
class FakeCloud:
    """Host states by external id, and what the driver was asked."""

    states: dict[str, str] = field(default_factory=dict)
    # How many reads of power_state it takes a host to reach the asked state.
    reads_to_settle: int = 2
    # Formatted with the credentials, so a test can check they are redacted.
    power_error: str = ""
    state_error: str = ""
    # How many reads fail with state_error before the cloud answers again (None: all of them),
    # and the error they fail with.
    failing_reads: int | None = None
    state_error_class: type[ProviderError] = ProviderError
    calls: list[tuple[str, str]] = field(default_factory=list)
    reads: int = 0
    _pending: dict[str, list] = field(default_factory=dict)


ESTATE = FakeCloud()


class PowerStubDriver(Driver):
    kind = "aws"

    def check(self) -> str:
        return "The fake cloud answers."

    def discover(self):
        yield ScopePlan(("eu-west-1",))
        for external_id, state in ESTATE.states.items():
            yield HostRecord(
                scope="eu-west-1", external_id=external_id, name=external_id, state=state,
                region="eu-west-1", vcpus=2, memory_mib=4096,
            )
        yield ScopeDone("eu-west-1")

    def power(self, external_id: str, action: str) -> None:
        ESTATE.calls.append((external_id, action))
        if ESTATE.power_error:
            raise ProviderError(ESTATE.power_error.format(**self.credentials))

        ESTATE._pending[external_id] = [TARGETS[action], ESTATE.reads_to_settle]
        if action in (PowerAction.OFF, PowerAction.FORCE_OFF):
            ESTATE.states[external_id] = HostState.STOPPING

    def power_state(self, external_id: str) -> str:
        ESTATE.reads += 1
        if ESTATE.state_error and ESTATE.failing_reads != 0:
            if ESTATE.failing_reads is not None:
                ESTATE.failing_reads -= 1
            raise ESTATE.state_error_class(ESTATE.state_error.format(**self.credentials))

        pending = ESTATE._pending.get(external_id)
        if pending:
            pending[1] -= 1
            if pending[1] <= 0:
                ESTATE.states[external_id] = pending[0]
                del ESTATE._pending[external_id]
        return ESTATE.states.get(external_id, HostState.UNKNOWN)
