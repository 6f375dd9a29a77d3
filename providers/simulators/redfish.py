"""Local BMCs: sushy-tools' Redfish servers on 127.0.0.1, for the demo rack and the tests.

Two servers, both run as child processes:

    start_emulator(systems)   sushy-emulator with its fake driver: systems with a name, UUID,
                              power state and NICs, whose power really changes (after a random
                              1 to 11 s, as hardware would); optionally behind a basic-auth login
    start_static(mockup_dir)  sushy-static serving a DMTF mockup tree (``<path>/index.json``)
                              for GET: full inventory facts (processors, memory, chassis), while
                              POSTs are answered 204 and only logged

``MOCKUPS / "two-node"`` is the project's own mockup: a BMC with a 2-socket and a 1-socket
system in one rack enclosure. As a command:

    python -m providers.simulators.redfish [--count 8] [--port 8000]

serves a demo rack on the emulator until interrupted.
"""

import argparse
import logging
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from providers.simulators.loopback import free_port

logger = logging.getLogger(__name__)

MOCKUPS = Path(__file__).resolve().parent / "mockups"

# Long enough for a cold start on a busy two-core machine (usually about a second).
STARTUP_SECONDS = 30.0
STOP_SECONDS = 5.0

# Flask prints the address it bound, which is the only way to learn the port it chose.
LISTENING = re.compile(r"Running on https?://127\.0\.0\.1:(\d+)")

# bcrypt's cheapest cost. The emulator checks the password on every request, and at the usual
# cost of 12 that takes a quarter of a second each; these logins guard nothing real.
BCRYPT_ROUNDS = 4

# Demo UUIDs are derived from the names, so a restarted demo rack keeps its hosts' identities.
DEMO_NAMESPACE = uuid.UUID("0b8f3c5e-2f7a-4d55-9a43-6e1c0d7f5a10")


class SimulatorError(RuntimeError):
    """A Redfish server could not be started; the message carries the end of its log."""


@dataclass
class ServerHandle:
    """A running sushy-tools server: its URL, its log, and ``stop()``."""

    name: str
    process: subprocess.Popen
    url: str
    workdir: Path
    log_path: Path
    # Removed at stop(): the directories this handle created itself.
    owned: list[Path] = field(default_factory=list)

    def log(self) -> str:
        """Everything the server wrote so far (sushy-static logs each request and POST body)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server and remove the files it was started with."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        for path in self.owned:
            shutil.rmtree(path, ignore_errors=True)
        logger.info("%s on %s stopped", self.name, self.url)

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


EmulatorHandle = ServerHandle
StaticHandle = ServerHandle


def binary(name: str) -> str:
    """The sushy-tools command ``name``: next to this Python first, then on the PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SimulatorError(f"{name} is not installed: pip install sushy-tools")
    return found


def htpasswd_line(username: str, password: str) -> str:
    """An Apache auth-file line with a bcrypt digest, the only kind sushy-emulator accepts."""
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))
    return f"{username}:{digest.decode()}\n"


def _private_file(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _log_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def _answers(url: str) -> bool:
    # The probe only asks whether our own child process listens yet; a test certificate of
    # it is not what is being checked here.
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url + "/redfish/v1/", timeout=2, context=context) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_serving(handle: ServerHandle, find_url, deadline: float) -> None:
    """Wait for the server's root document; on failure stop it and raise with its log."""
    while time.monotonic() < deadline:
        if not handle.url:
            handle.url = find_url() or ""
        if handle.url and _answers(handle.url):
            logger.info("%s serving Redfish on %s", handle.name, handle.url)
            return
        if not handle.running():
            break
        time.sleep(0.1)

    code = handle.process.poll()
    tail = _log_tail(handle.log_path)
    handle.stop()
    reason = f"exited with code {code}" if code is not None else "did not answer in time"
    raise SimulatorError(f"{handle.name} {reason}. Its log ends with:\n{tail}")


def _launch(name: str, command: list[str], workdir: Path, owned: list[Path],
            url: str = "") -> ServerHandle:
    log_path = workdir / "server.log"
    # Unbuffered, so the log shows each request as it is served, not when the server exits.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=workdir, env=env,
        )
    return ServerHandle(name, process, url, workdir, log_path, owned)


def emulator_config(systems: list[dict], state_dir: Path, port: int,
                    auth_file: Path | None = None, tls: tuple[str, str] | None = None) -> str:
    """The Python config file sushy-emulator reads: the fake driver and its systems."""
    lines = [
        "SUSHY_EMULATOR_FAKE_DRIVER = True",
        f"SUSHY_EMULATOR_FAKE_SYSTEMS = {systems!r}",
        f"SUSHY_EMULATOR_STATE_DIR = {str(state_dir)!r}",
        "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'",
        # 0 asks for a free port; Flask then prints the one it bound.
        f"SUSHY_EMULATOR_LISTEN_PORT = {int(port)}",
    ]
    if auth_file is not None:
        lines.append(f"SUSHY_EMULATOR_AUTH_FILE = {str(auth_file)!r}")
    if tls is not None:
        lines.append(f"SUSHY_EMULATOR_SSL_CERT = {str(tls[0])!r}")
        lines.append(f"SUSHY_EMULATOR_SSL_KEY = {str(tls[1])!r}")
    return "\n".join(lines) + "\n"


def start_emulator(systems: list[dict], *, port: int = 0, username: str | None = None,
                   password: str | None = None, state_dir: str | Path | None = None,
                   tls: tuple[str | Path, str | Path] | None = None,
                   startup_seconds: float = STARTUP_SECONDS) -> ServerHandle:
    """Start sushy-emulator (fake driver) on 127.0.0.1 serving ``systems``; returns its handle.

    Each system is a dict with ``uuid``, ``name``, ``power_state`` ("On" or "Off") and ``nics``
    (``[{"mac": …, "ip": …}]``), as ``demo_rack`` makes them. With ``username`` and
    ``password`` every request but the service root needs that basic-auth login. The state
    (power changes) lives in ``state_dir``, a fresh directory unless one is given: the
    emulator keeps what it finds there over what ``systems`` says. ``tls`` is a pair of
    certificate and key files (PEM) to serve HTTPS with.
    """
    if bool(username) != bool(password):
        raise ValueError("give both username and password, or neither")
    workdir = Path(tempfile.mkdtemp(prefix="sushy-emulator-"))
    owned = [workdir]
    if state_dir is None:
        state = workdir / "state"
    else:
        state = Path(state_dir)
    auth_file = None
    if username:
        auth_file = workdir / "htpasswd"
        _private_file(auth_file, htpasswd_line(username, password))

    config = workdir / "emulator.conf"
    tls_files = (str(tls[0]), str(tls[1])) if tls else None
    _private_file(config, emulator_config(list(systems), state, port, auth_file, tls_files))
    handle = _launch("sushy-emulator", [binary("sushy-emulator"), "--config", str(config)],
                     workdir, owned)

    def find_url() -> str | None:
        found = LISTENING.search(handle.log())
        return f"http://127.0.0.1:{found[1]}" if found else None

    _wait_until_serving(handle, find_url, time.monotonic() + startup_seconds)
    return handle


def mockup_root(mockup_dir: str | Path) -> Path:
    """The folder holding the service root's index.json (sushy-static's ``-m``)."""
    folder = Path(mockup_dir)
    for candidate in (folder / "redfish" / "v1", folder):
        if (candidate / "index.json").is_file():
            return candidate
    raise SimulatorError(f"{folder} holds no Redfish mockup (no redfish/v1/index.json)")


def start_static(mockup_dir: str | Path, *, port: int = 0,
                 tls: tuple[str | Path, str | Path] | None = None,
                 startup_seconds: float = STARTUP_SECONDS) -> ServerHandle:
    """Start sushy-static on 127.0.0.1 serving a mockup tree; returns its handle.

    ``mockup_dir`` is a mockup's top folder (holding ``redfish/v1``) or its ``redfish/v1``
    folder. sushy-static asks for no login and prints every request's headers to its log,
    so give it no real credentials. ``tls`` (certificate and key files) serves HTTPS.
    """
    root = mockup_root(mockup_dir)
    # sushy-static binds the port it is given and never says which one it got, so a free
    # port is chosen here; another process grabbing it in between is retried once.
    retries = 0 if port else 1
    while True:
        bound = port or free_port()
        workdir = Path(tempfile.mkdtemp(prefix="sushy-static-"))
        command = [binary("sushy-static"), "-i", "127.0.0.1", "-p", str(bound), "-m", str(root)]
        if tls:
            command += ["-c", str(tls[0]), "-k", str(tls[1])]
        scheme = "https" if tls else "http"
        handle = _launch("sushy-static", command, workdir, [workdir],
                         url=f"{scheme}://127.0.0.1:{bound}")
        try:
            _wait_until_serving(handle, lambda: None, time.monotonic() + startup_seconds)
        except SimulatorError:
            if retries == 0:
                raise
            retries -= 1
            continue
        return handle


def demo_rack(count: int = 8, rack: str = "a") -> list[dict]:
    """Fake systems for a demo rack: ``rack-a-u01`` …, most on, every fourth one off."""
    systems = []
    for number in range(1, count + 1):
        name = f"rack-{rack}-u{number:02d}"
        systems.append({
            "uuid": str(uuid.uuid5(DEMO_NAMESPACE, name)),
            "name": name,
            "power_state": "Off" if number % 4 == 0 else "On",
            "nics": [
                {"mac": f"52:54:00:{ord(rack[0]) % 256:02x}:{number:02x}:{port:02x}",
                 "ip": f"10.{ord(rack[0]) % 256}.{number}.{10 + port}"}
                for port in (1, 2)
            ],
        })
    return systems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8, help="systems in the rack (8)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (any free)")
    parser.add_argument("--username", help="require this basic-auth login")
    parser.add_argument("--password", help="the login's password")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    handle = start_emulator(demo_rack(args.count), port=args.port, username=args.username,
                            password=args.password)
    print(f"Redfish demo rack of {args.count} systems on {handle.url} (Ctrl-C stops it)")
    # Wait for Ctrl-C or a polite kill alike, and stop the emulator either way.
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        signal.sigwait(stopping)
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
