"""ARM and Key Vault provider modules; every module here is discovered at start-up.

See ``azure_emulator/README.md`` ("Writing a provider module") for the contract.
"""

from __future__ import annotations
