"""Celery tasks for operations: thin wrappers around ``portal.operations.power``."""

from celery import shared_task

from portal.operations import power


@shared_task(name="portal.operations.tasks.power_task")
def power_task(power_request_id: int) -> str:
    """Send one power request to its provider and follow it; returns its final status."""
    return power.run_power_request(power_request_id).status


@shared_task(name="portal.operations.tasks.expire_abandoned_power_task")
def expire_abandoned_power_task() -> int:
    """Periodic: close power requests whose worker died; returns how many were closed."""
    return power.expire_all_abandoned()
