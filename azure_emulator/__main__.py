"""``python -m azure_emulator serve|reset`` (see README.md)."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from azure_emulator.config import EmulatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m azure_emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the emulator (HTTPS)")
    init = commands.add_parser(
        "init", help="create the CA, identity, seeded fleet and demo.json without serving"
    )
    for command in (serve, init):
        command.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to listen on; 0.0.0.0 listens everywhere (default: %(default)s)",
        )
        command.add_argument(
            "--port",
            type=int,
            default=8443,
            help="HTTPS port of ARM, Entra ID and the control API (default: %(default)s)",
        )
        command.add_argument(
            "--keyvault-port",
            type=int,
            default=8444,
            help="HTTPS port of the Key Vault data plane (default: %(default)s)",
        )
        command.add_argument(
            "--state-dir",
            type=Path,
            default=Path("var/emulator"),
            help="folder for the CA, identity, saved fleet and demo.json (default: %(default)s)",
        )
        command.add_argument(
            "--fleet-size",
            type=int,
            default=25,
            help="number of tenants seeded when there is no saved fleet (default: %(default)s)",
        )
        command.add_argument(
            "--lro-seconds",
            type=float,
            default=3.0,
            help="how long a long-running operation takes; 0 completes at once (default: %(default)s)",
        )
        command.add_argument(
            "--seed",
            type=int,
            default=1,
            help="random seed of the fleet: the same seed gives the same fleet (default: %(default)s)",
        )
    reset = commands.add_parser("reset", help="delete the saved fleet (keeps CA and identity)")
    reset.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/emulator"),
        help="the emulator's state folder (default: %(default)s)",
    )
    reset.add_argument("--all", action="store_true", help="also delete CA, keys and identity")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    if args.command == "reset":
        state_dir: Path = args.state_dir
        if args.all:
            shutil.rmtree(state_dir, ignore_errors=True)
        else:
            (state_dir / "state.json").unlink(missing_ok=True)
        return 0

    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        keyvault_port=args.keyvault_port,
        state_dir=args.state_dir,
        fleet_size=args.fleet_size,
        lro_seconds=args.lro_seconds,
        seed=args.seed,
    )
    if args.command == "init":
        # What `serve` does before listening, so the portal can load the fleet (make demo)
        # before the emulator process starts; an existing state is kept as it is.
        from azure_emulator import tls
        from azure_emulator.runtime import Emulator

        config.state_dir.mkdir(parents=True, exist_ok=True)
        tls.ensure_certificates(config.state_dir, config.public_host)
        emulator = Emulator(config)
        emulator.start()
        emulator.store.save()
        return 0

    from azure_emulator.server import serve as run

    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
