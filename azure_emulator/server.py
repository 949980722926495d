"""Run the emulator: one uvicorn server listening on the ARM port and the Key Vault port."""

from __future__ import annotations

import logging
import socket

import uvicorn

from azure_emulator import tls
from azure_emulator.config import EmulatorConfig
from azure_emulator.runtime import Emulator

log = logging.getLogger("azure_emulator")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def serve(config: EmulatorConfig) -> None:
    _, cert, key = tls.ensure_certificates(config.state_dir, config.public_host)
    emulator = Emulator(config)
    emulator.start()
    sockets = [_listen(config.host, config.port), _listen(config.host, config.keyvault_port)]
    uv_config = uvicorn.Config(
        emulator,
        lifespan="on",
        log_level="warning",
        access_log=False,
        # Our own context: uvicorn's default factory has no way to set a minimum TLS version.
        ssl_context_factory=lambda _config, _default: tls.server_context(cert, key),
        timeout_graceful_shutdown=1,
    )
    log.warning(
        "Azure emulator on %s (Key Vault %s), state in %s",
        config.arm_base,
        config.keyvault_base,
        config.state_dir,
    )
    uvicorn.Server(uv_config).run(sockets=sockets)
