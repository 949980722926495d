"""Start a real emulator process for tests and scripts: :class:`RunningEmulator`.

    with RunningEmulator(fleet_size=8, lro_seconds=1) as emu:
        client = SqlManagementClient(emu.credential(), emu.subscription_ids[0],
                                     base_url=emu.arm_endpoint, connection_verify=emu.ca_bundle)

The emulator runs as a subprocess (``python -m azure_emulator serve``) so tests exercise the
same TLS listener, persistence and start-up path as the demo.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunningEmulator:
    """An emulator subprocess on free ports with its own state folder (a temp dir by default)."""

    def __init__(
        self,
        *,
        fleet_size: int = 8,
        lro_seconds: float = 1.0,
        seed: int = 1,
        state_dir: Path | None = None,
        port: int | None = None,
        keyvault_port: int | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="azure-emulator-")
            state_dir = Path(self._tmp.name)
        self.state_dir = state_dir
        self.fleet_size = fleet_size
        self.lro_seconds = lro_seconds
        self.seed = seed
        self.port = port or free_port()
        self.keyvault_port = keyvault_port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.demo: dict[str, Any] = {}
        self._log = self.state_dir / "emulator.log"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> RunningEmulator:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "azure_emulator", "serve",
            "--port", str(self.port),
            "--keyvault-port", str(self.keyvault_port),
            "--state-dir", str(self.state_dir),
            "--fleet-size", str(self.fleet_size),
            "--lro-seconds", str(self.lro_seconds),
            "--seed", str(self.seed),
        ]  # fmt: skip
        root = Path(__file__).resolve().parent.parent
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        log = self._log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root
        )
        log.close()
        self._wait_until_up()
        self.demo = json.loads((self.state_dir / "demo.json").read_text(encoding="utf-8"))
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"https://127.0.0.1:{self.port}/_emulator/health"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"emulator exited early:\n{self.log_tail()}")
            ca = self.state_dir / "ca.pem"
            if ca.exists() and (self.state_dir / "demo.json").exists():
                try:
                    context = ssl.create_default_context(cafile=str(ca))
                    if httpx.get(url, verify=context, timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"emulator did not answer within {START_TIMEOUT}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Graceful stop (SIGINT, as Ctrl-C): the emulator saves its state on the way out."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same ports and state folder."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        if not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    # -- what clients need --------------------------------------------------------------------

    @property
    def ca_bundle(self) -> str:
        return str(self.demo["ca_bundle"])

    @property
    def tls(self) -> ssl.SSLContext:
        """An SSL context trusting the emulator's CA (for httpx's ``verify=``)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    @property
    def arm_endpoint(self) -> str:
        return str(self.demo["arm_endpoint"])

    @property
    def keyvault_url(self) -> str:
        return str(self.demo["keyvault_url"])

    @property
    def tenant_id(self) -> str:
        return str(self.demo["tenant_id"])

    @property
    def subscription_ids(self) -> list[str]:
        return list(self.demo["subscription_ids"])

    @property
    def tenants(self) -> list[dict[str, Any]]:
        return list(self.demo["fleet"]["tenants"])

    def credential(self) -> Any:
        """A ClientSecretCredential for the portal's app registration, trusting the emulator CA."""
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            self.demo["tenant_id"],
            self.demo["client_id"],
            self.demo["client_secret"],
            authority=self.demo["authority_host"],
            disable_instance_discovery=True,
            connection_verify=self.ca_bundle,
        )

    def control(self, method: str, path: str, json_body: Any = None) -> Any:
        """Call the control API (``path`` relative to ``/_emulator/``); returns the JSON answer."""
        response = httpx.request(
            method,
            f"{self.arm_endpoint}/_emulator/{path.lstrip('/')}",
            json=json_body,
            headers={"Authorization": f"Bearer {self.demo['control_token']}"},
            verify=self.tls,
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset")
