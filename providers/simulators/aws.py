"""A local AWS account: moto's server on 127.0.0.1, reset and seeded over its own HTTP API.

Used by the demo (a small tagged estate in two regions) and by the tests. As a command:

    python -m providers.simulators.aws [--port 5000] [--per-region 18]

starts moto, seeds the demo estate, prints the endpoint URL and serves until interrupted;
``--url URL`` seeds an already running moto instead. Any access key works against it.
"""

import argparse
import logging
import random
import time
import urllib.request
from collections.abc import Iterable, Sequence

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)

DEMO_REGIONS = ("eu-west-1", "us-east-1")
# moto accepts any key unless authentication is switched on (see require_auth).
DEMO_CREDENTIALS = {"access_key_id": "AKIADEMO00000000", "secret_access_key": "demo-secret"}

# A mix a small company might run: burstable front ends, general purpose, compute and memory
# heavy tiers, and one bare-metal host, so sizes, costs and host kinds all differ.
DEMO_ROLES = (
    ("web", "t3.medium"),
    ("api", "m5.large"),
    ("worker", "c5.xlarge"),
    ("cache", "r5.large"),
    ("db", "r5.2xlarge"),
    ("batch", "c5.2xlarge"),
    ("ci", "m5.xlarge"),
    ("bastion", "t3.micro"),
    ("hpc", "m5.metal"),
)
DEMO_TEAMS = ("payments", "search", "platform", "data")
DEMO_ENVS = ("prod", "prod", "staging", "dev")
DEMO_COST_CENTERS = {"payments": "CC-1010", "search": "CC-1020", "platform": "CC-1030",
                     "data": "CC-1040"}


def start_moto(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    """Start moto on 127.0.0.1 (a free port by default); returns the server and its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    url = f"http://{host}:{bound}"
    logger.info("moto serving AWS on %s", url)
    return server, url


def stop_moto(server: ThreadedMotoServer) -> None:
    """Stop serving and close the listening socket at once, not whenever it is collected."""
    server.stop()
    listener = getattr(server, "_server", None)
    if listener is not None:
        listener.server_close()


def _post(url: str, path: str, body: bytes = b"") -> None:
    # Without a content type urllib says the body is a form, and moto then reads it as one.
    request = urllib.request.Request(url.rstrip("/") + path, data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def require_auth(url: str, enabled: bool = True) -> None:
    """Make moto check every request's access key (unknown keys get AuthFailure), or stop."""
    # moto authenticates once it has served this many requests; 0 means from now on.
    _post(url, "/moto-api/reset-auth", b"0" if enabled else b"inf")


def reset_moto(url: str) -> None:
    """Forget every resource, and accept any access key again."""
    _post(url, "/moto-api/reset")
    require_auth(url, enabled=False)


def client(url: str, region: str, service: str = "ec2"):
    """A boto3 client for the moto at ``url`` (any key works), without retries."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=DEMO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=DEMO_CREDENTIALS["secret_access_key"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def find_image(ec2, windows: bool = False) -> str:
    """An AMI from moto's built-in catalogue: Amazon Linux 2 on x86, or a Windows Server."""
    pattern = "Windows_Server-*" if windows else "amzn2-ami-hvm-*-x86_64-gp2"
    images = ec2.describe_images(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": [pattern]}]
    )["Images"]
    if not images:
        raise RuntimeError(f"moto offers no image matching {pattern}")
    return sorted(image["ImageId"] for image in images)[0]


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def seed_demo_estate(
    url: str, regions: Sequence[str] = DEMO_REGIONS, per_region: int = 18, seed: int = 7
) -> dict[str, list[str]]:
    """Create a tagged demo estate; returns the instance ids by region.

    Every instance carries Name, team, env and cost-center tags; roles cycle through the mix
    above; about one in six is stopped. The same seed gives the same estate.
    """
    rng = random.Random(seed)
    created: dict[str, list[str]] = {}
    for region in regions:
        ec2 = client(url, region)
        linux, windows = find_image(ec2), find_image(ec2, windows=True)
        zones = [zone["ZoneName"] for zone in
                 ec2.describe_availability_zones()["AvailabilityZones"]][:3]
        created[region] = []
        for n in range(per_region):
            role, instance_type = DEMO_ROLES[n % len(DEMO_ROLES)]
            team = DEMO_TEAMS[rng.randrange(len(DEMO_TEAMS))]
            env = DEMO_ENVS[rng.randrange(len(DEMO_ENVS))]
            tags = {
                "Name": f"{team}-{role}-{region.split('-')[0]}{n:02d}",
                "team": team,
                "env": env,
                "cost-center": DEMO_COST_CENTERS[team],
            }
            answer = ec2.run_instances(
                ImageId=windows if role == "ci" else linux,
                MinCount=1,
                MaxCount=1,
                InstanceType=instance_type,
                Placement={"AvailabilityZone": zones[n % len(zones)]},
                TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(tags)}],
            )
            created[region].append(answer["Instances"][0]["InstanceId"])

        stopped = created[region][5::6]
        if stopped:
            ec2.stop_instances(InstanceIds=stopped)
        logger.info("seeded %d instances in %s (%d stopped)", per_region, region, len(stopped))
    return created


def _regions(value: str) -> Iterable[str]:
    return tuple(region.strip() for region in value.split(",") if region.strip())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a demo AWS account with moto.")
    parser.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (5000)")
    parser.add_argument("--url", help="seed this running moto instead of starting one")
    parser.add_argument("--regions", type=_regions, default=DEMO_REGIONS,
                        help="comma-separated regions (eu-west-1,us-east-1)")
    parser.add_argument("--per-region", type=int, default=18, help="instances per region")
    args = parser.parse_args(argv)

    if args.url:
        created = seed_demo_estate(args.url, args.regions, args.per_region)
        print(f"Seeded {sum(map(len, created.values()))} instances at {args.url}")
        return

    server, url = start_moto(args.port)
    try:
        created = seed_demo_estate(url, args.regions, args.per_region)
        print(f"Demo AWS account at {url} with {sum(map(len, created.values()))} instances "
              f"in {', '.join(created)}; any access key works. Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_moto(server)


if __name__ == "__main__":
    main()
