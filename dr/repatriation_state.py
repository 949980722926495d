"""What the repatriation's steps share: the checkpoint keys, the home app and database in the
shape of the shared app steps, the home copy's replication link with the Southeast copy, and the
words a failure before the switch leaves behind (docs/dr.md, "Repatriation")."""

from __future__ import annotations

from dr import steps
from dr.repatriation import RepatriationParameters
from operations.context import StepContext
from portal.azure import replication
from portal.azure.errors import AzureNotFoundError
from portal.resource_ids import name_of, same

ROLE_HOME = "repatriated"
ROLE_ASIDE = "pre-failover"
# How long the switch looks for a planned failover begun by a run that died before recording
# its token, before it says it cannot tell.
FAILOVER_SECONDS = 300.0
# While the customer is down the switch looks at Azure more often than other waits.
SWITCH_LOOK_SECONDS = 1.0

# Checkpoint keys.
HOME_APP_BEFORE = "home_app_before"  # the home app's state when repatriation began
SET_ASIDE = "set_aside"  # "linked" | "renamed" | "absent"
SECONDARY_BEGUN = "secondary_begun"
SECONDARY_TOKEN = "secondary_token"  # noqa: S105 - a continuation token's key, not a secret
SECONDARY_CREATED = "secondary_created"
SWITCH_STARTED_AT = "switch_started_at"
FAILOVER_BEGUN = "failover_begun"
FAILOVER_LINK = "failover_link"  # the link's name (a GUID), for polling the failover
FAILOVER_TOKEN = "failover_token"  # noqa: S105 - a continuation token's key, not a secret
FAILOVER_DONE_AT = "failover_done_at"
HOME_CONNECTION_BEFORE = "home_connection_before"
CLEANUPS = "cleanup_operation_ids"  # {"away": id, "aside": id}


def parameters(context: StepContext) -> RepatriationParameters:
    return context.parameters(RepatriationParameters)


def home_target(p: RepatriationParameters) -> steps.StandbyTarget:
    """The home app and database in the shape the shared app steps take."""
    return steps.StandbyTarget(
        primary_server_id=p.home_server_id,
        database_name=p.database_name,
        paired_server_id=p.home_server_id,
        target_name=p.database_name,
        location=p.home_region,
        elastic_pool_id=p.home_pool_id,
        standby_site_id=p.home_site_id,
        identity_ids=list(p.identity_ids),
        encryption_protector=p.encryption_protector,
    )


def link_with_away(p: RepatriationParameters) -> replication.ReplicationLink | None:
    """The home database's replication link with the Australia Southeast copy, if any."""
    try:
        links = replication.replication_links(p.home_database_id)
    except AzureNotFoundError:
        return None
    for link in links:
        if same(link.partner_database_id, p.away_database_id) or (
            link.partner_server.lower() == name_of(p.away_server_id).lower()
        ):
            return link
    return None


def switched(context: StepContext) -> str | None:
    """Words for a step before the switch that an earlier, failed run already got past."""
    if context.get(FAILOVER_DONE_AT):
        return "Done before the planned failover of an earlier run; nothing to do."
    return None


def still_away(p: RepatriationParameters, more: str = "") -> str:
    return (
        f"The tenant still runs in Australia Southeast on {name_of(p.away_database_id)} with "
        f"its standby app {name_of(p.away_site_id)}.{more}"
    )
