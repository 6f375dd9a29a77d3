"""The AWS driver against moto's server: facts, paging, failures and power actions.

Failures come from the fault proxy in front of moto (a real 503, 401, timeout or broken body on
the wire) or from moto itself with authentication switched on; nothing is mocked in-process.
"""

from datetime import UTC, datetime

import pytest

from providers import get_driver_class
from providers.aws import AwsDriver, InstanceTypeInfo, host_record_from
from providers.base import (
    HostKind,
    HostState,
    ProviderAuthError,
    ProviderError,
    ScopeDone,
    ScopePlan,
)
from providers.simulators.loopback import free_port
from tests.helpers import split_items

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-driver-test"
CREDENTIALS = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET}


def driver(settings, credentials=CREDENTIALS):
    return AwsDriver(settings, credentials)


def discover(settings):
    return split_items(driver(settings).discover())


def test_kind_aws_resolves_to_this_driver():
    assert get_driver_class("aws") is AwsDriver
    assert AwsDriver.kind == "aws"


def test_client_carries_endpoint_timeouts_and_retry_settings(aws):
    settings = aws.settings(connect_timeout=2, read_timeout=7, max_attempts=3,
                            retry_mode="adaptive")

    client = driver(settings).client("ec2", "eu-west-1")

    config = client.meta.config
    assert client.meta.endpoint_url == aws.url
    assert client.meta.region_name == "eu-west-1"
    assert (config.connect_timeout, config.read_timeout) == (2.0, 7.0)
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}


def test_instances_in_two_regions_come_with_their_facts(aws):
    web, = aws.run_instances("eu-west-1", instance_type="m5.large", zone="b", name="web-1",
                             tags={"team": "payments", "env": "prod", "cost-center": "CC-7"})
    workers = aws.run_instances("us-east-1", 2, instance_type="c5.xlarge")
    aws.stop("us-east-1", workers[1])
    expected = aws.describe("eu-west-1", web)

    items, records, ends = discover(aws.settings())

    assert items[0] == ScopePlan(("eu-west-1", "us-east-1"))
    assert ends == [ScopeDone("eu-west-1"), ScopeDone("us-east-1")]
    assert set(records) == {web, *workers}
    host = records[web]
    assert (host.scope, host.region, host.zone) == ("eu-west-1", "eu-west-1", "eu-west-1b")
    assert (host.name, host.kind, host.state) == ("web-1", HostKind.VIRTUAL, HostState.RUNNING)
    assert (host.instance_type, host.vcpus, host.cores, host.sockets) == ("m5.large", 2, 1, 1)
    assert host.memory_mib == 8192
    assert host.tags == {"Name": "web-1", "team": "payments", "env": "prod",
                         "cost-center": "CC-7"}
    assert host.addresses == (expected["PrivateIpAddress"], expected["PublicIpAddress"])
    assert host.launched_at == expected["LaunchTime"] and host.launched_at.tzinfo is UTC
    assert host.os == "Linux/UNIX"
    stopped = records[workers[1]]
    assert (stopped.state, stopped.vcpus, stopped.memory_mib) == (HostState.STOPPED, 4, 8192)
    assert stopped.name == workers[1]


def test_metal_instance_is_bare_metal_with_unknown_sockets(aws):
    metal, = aws.run_instances("eu-west-1", instance_type="m5.metal")

    _, records, _ = discover(aws.settings(regions=["eu-west-1"]))

    host = records[metal]
    assert (host.kind, host.sockets) == (HostKind.BARE_METAL, None)
    assert (host.vcpus, host.cores, host.memory_mib) == (96, 48, 393216)


def test_terminated_instances_are_left_out(aws):
    kept, gone = aws.run_instances("eu-west-1", 2)
    aws.terminate("eu-west-1", gone)

    _, records, ends = discover(aws.settings(regions=["eu-west-1"]))

    assert set(records) == {kept}
    assert ends == [ScopeDone("eu-west-1")]


def test_mapping_prefers_cpu_options_and_reads_edge_cases():
    instance = {
        "InstanceId": "i-0123456789abcdef0",
        "InstanceType": "c5.4xlarge",
        "State": {"Name": "shutting-down"},
        "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 1},
        "Platform": "windows",
        "LaunchTime": datetime(2026, 3, 1, 12, 30),
        "Tags": [{"Key": "Name", "Value": ""}, {"Key": "owner", "Value": "ops"}],
        "NetworkInterfaces": [{
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.5"},
                                   {"PrivateIpAddress": "10.0.0.6",
                                    "Association": {"PublicIp": "3.3.3.3"}}],
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8::5"}],
        }],
        "PrivateIpAddress": "10.0.0.5",
    }
    info = InstanceTypeInfo(vcpus=16, cores=8, memory_mib=32768)

    record = host_record_from(instance, "eu-west-1", info)

    assert (record.vcpus, record.cores, record.memory_mib) == (4, 4, 32768)
    assert (record.state, record.os) == ("stopping", "Windows")
    assert record.name == instance["InstanceId"]
    assert record.launched_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert record.addresses == ("10.0.0.5", "10.0.0.6", "3.3.3.3", "2001:db8::5")
    assert host_record_from({**instance, "State": {"Name": "terminated"}}, "eu-west-1") is None


def test_paging_reads_every_page(aws, fault_proxy):
    # moto pages by reservation, as EC2 does, so each instance gets its own launch.
    ids = [aws.run_instances("eu-west-1", instance_type="t3.small")[0] for _ in range(12)]

    _, records, ends = discover(aws.settings(["eu-west-1"], endpoint_url=fault_proxy.url,
                                             page_size=5))

    assert set(records) == set(ids)
    assert ends == [ScopeDone("eu-west-1")]
    # 12 instances at 5 a page: three DescribeInstances calls, and the one instance type is
    # looked up once, not once a page or once an instance.
    assert fault_proxy.count("eu-west-1", "DescribeInstances") == 3
    assert fault_proxy.count("eu-west-1", "DescribeInstanceTypes") == 1


def test_instance_types_are_asked_100_at_a_time_and_cached(aws, fault_proxy):
    ec2 = aws.client("eu-west-1")
    # Three families give enough names; listing all 1,400 types from moto takes seconds.
    listed = ec2.describe_instance_types(
        Filters=[{"Name": "instance-type", "Values": ["m5*", "c5*", "r5*"]}]
    )
    names = sorted(entry["InstanceType"] for entry in listed["InstanceTypes"])[:150]
    subject = driver(aws.settings(endpoint_url=fault_proxy.url))

    first = subject.instance_types("eu-west-1", names)
    again = subject.instance_types("us-east-1", names)

    assert len(set(names)) == 150
    assert fault_proxy.count(action="DescribeInstanceTypes") == 2
    assert first is again and all(first[name].memory_mib for name in names)


@pytest.mark.parametrize(("mode", "body", "phrase"), [
    ("error", None, "answered DescribeInstances with an error: The service is unavailable"),
    ("throttle", None, "was still throttling DescribeInstances after 2 attempt(s)"),
    ("slow", None, "did not answer within 0.5 s"),
    ("garbage", None, "that is not valid AWS XML"),
    ("garbage", b"<html><body>Welcome</body></html>", "without a reservation list"),
])
def test_a_failing_region_fails_alone(aws, fault_proxy, mode, body, phrase):
    healthy, = aws.run_instances("eu-west-1")
    aws.run_instances("us-east-1")
    fault_proxy.slow_seconds = 1.5
    fault_proxy.fail("us-east-1", mode, body)
    settings = aws.settings(["us-east-1", "eu-west-1"], endpoint_url=fault_proxy.url,
                            max_attempts=2, read_timeout=0.5)

    items, records, ends = discover(settings)

    assert set(records) == {healthy}
    assert ends[1] == ScopeDone("eu-west-1")
    assert ends[0].scope == "us-east-1" and phrase in ends[0].error
    if mode in {"error", "throttle", "slow"}:
        # botocore retried the failing call once, as max_attempts=2 allows, and no more.
        assert fault_proxy.count("us-east-1", "DescribeInstances") == 2


def test_check_names_the_account_and_counts_regions(aws):
    assert driver(aws.settings()).check() == "Account 123456789012, 2 regions reachable"

    every = driver({"endpoint_url": aws.url, "max_attempts": 1})
    listed = aws.client("us-east-1").describe_regions()["Regions"]
    assert every.check() == f"Account 123456789012, {len(listed)} regions reachable"


def test_check_against_a_closed_port_says_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ProviderError) as caught:
        driver({"endpoint_url": url, "regions": ["eu-west-1"], "max_attempts": 1}).check()

    assert not isinstance(caught.value, ProviderAuthError)
    assert str(caught.value).startswith(f"Could not reach the EC2 endpoint {url}")
    assert str(caught.value).endswith(": connection refused.")


def test_rejected_key_gives_a_readable_auth_error_without_the_secret(aws):
    aws.reject_credentials()

    with pytest.raises(ProviderAuthError) as on_check:
        driver(aws.settings()).check()
    with pytest.raises(ProviderAuthError) as on_discover:
        list(driver(aws.settings()).discover())
    with pytest.raises(ProviderAuthError) as on_listing:
        list(driver({"endpoint_url": aws.url, "max_attempts": 1}).discover())

    assert str(on_check.value) == (
        "AWS rejected the access key AKIA…MPLE for region eu-west-1: AWS was not able to "
        "validate the provided access credentials (AuthFailure)."
    )
    assert "for region eu-west-1" in str(on_discover.value)
    assert "for region us-east-1" in str(on_listing.value)
    for error in (on_check.value, on_discover.value, on_listing.value):
        assert SECRET not in str(error) and CREDENTIALS["access_key_id"] not in str(error)


def test_one_region_rejecting_the_key_fails_only_that_region(aws, fault_proxy):
    healthy, = aws.run_instances("eu-west-1")
    fault_proxy.fail("us-east-1", "auth")
    settings = aws.settings(["us-east-1", "eu-west-1"], endpoint_url=fault_proxy.url)

    _, records, ends = discover(settings)

    # us-east-1 is read first and rejects the key; once eu-west-1 answers, that rejection is a
    # region problem (say, a region not enabled), not a wrong key.
    assert set(records) == {healthy}
    assert ends[1] == ScopeDone("eu-west-1")
    assert ends[0].scope == "us-east-1" and "AWS rejected the access key" in ends[0].error


def test_missing_credentials_fail_before_any_request(fault_proxy):
    subject = driver({"endpoint_url": fault_proxy.url, "regions": ["eu-west-1"]},
                     {"access_key_id": "AKIAIOSFODNN7EXAMPLE"})

    with pytest.raises(ProviderAuthError, match="has no access key"):
        list(subject.discover())
    with pytest.raises(ProviderAuthError, match="has no access key"):
        subject.check()

    assert fault_proxy.count() == 0


def test_power_and_retire_act_on_the_instance(aws):
    first, second = aws.run_instances("us-east-1", 2)
    subject = driver(aws.settings())

    subject.power(f"us-east-1/{first}", "off")
    stopped = aws.describe("us-east-1", first)["State"]["Name"]
    read_stopped = subject.power_state(first)
    subject.power(first, "on")
    started = aws.describe("us-east-1", first)["State"]["Name"]
    read_started = subject.power_state(f"us-east-1/{first}")
    subject.power(first, "force_off")
    forced = aws.describe("us-east-1", first)["State"]["Name"]
    subject.retire(second)

    assert (stopped, started, forced) == ("stopped", "running", "stopped")
    assert (read_stopped, read_started) == ("stopped", "running")
    assert aws.describe("us-east-1", second)["State"]["Name"] == "terminated"
    with pytest.raises(ProviderError, match="Unknown power action 'hibernate'"):
        subject.power(first, "hibernate")
    with pytest.raises(ProviderError, match="No instance i-0000000000000000a was found in "
                                            "eu-west-1, us-east-1"):
        subject.power("i-0000000000000000a", "off")
