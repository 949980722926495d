"""Runtime settings of one emulator process (command-line options plus control-API overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# ARM's documented regional token buckets (docs/azure-behaviours.md §10): per subscription, size and refill/s.
DEFAULT_BUCKETS: dict[str, tuple[float, float]] = {
    "reads": (250.0, 25.0),
    "writes": (200.0, 10.0),
    "deletes": (200.0, 10.0),
}


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    keyvault_port: int = 8444
    state_dir: Path = field(default_factory=lambda: Path("var/emulator"))
    fleet_size: int = 25
    lro_seconds: float = 3.0
    seed: int = 1
    # Restores count against these while their LRO runs (see providers/sql/restores.py): Azure
    # processes this many at once per pool (single databases: per subscription) and queues
    # the rest; past the submission limits it refuses.
    max_restores_per_pool: int = 4
    max_restores_per_subscription: int = 30
    max_restore_submissions_per_pool: int = 2000
    max_restore_submissions_per_subscription: int = 100
    buckets: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BUCKETS))

    def reset_limits(self) -> None:
        """Back to the default restore limits (a reseed starts from Azure's figures)."""
        defaults = EmulatorConfig()
        self.max_restores_per_pool = defaults.max_restores_per_pool
        self.max_restores_per_subscription = defaults.max_restores_per_subscription
        self.max_restore_submissions_per_pool = defaults.max_restore_submissions_per_pool
        self.max_restore_submissions_per_subscription = (
            defaults.max_restore_submissions_per_subscription
        )

    @property
    def public_host(self) -> str:
        # A wildcard bind address is not something a client can connect to or a certificate names.
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104

    @property
    def arm_base(self) -> str:
        return f"https://{self.public_host}:{self.port}"

    @property
    def keyvault_base(self) -> str:
        return f"https://{self.public_host}:{self.keyvault_port}"
