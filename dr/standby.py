"""A standby site built when it is needed, from the primary's configuration recorded earlier.

During an Australia East outage the primary site cannot be read, so readiness (while the
primary answers) records a recipe for every tenant without a standby: the primary plan's SKU,
the site's kind, runtime and security settings, its user-assigned identities, tags and the app
settings that are safe to keep. A failover or drill then builds the plan `<plan>-ase` and the
site `<site>-ase` from it, stopped, before pointing the standby at the restored database.

The portal's database holds no secret: an app setting whose value is a Key Vault reference is
kept (App Service resolves it inside the app); one that looks like a plain secret is not, and
the recipe names it (`left_out`) so the readiness row can say what the standby will lack.

Where: the paired SQL server's resource group. Resource Manager keeps a resource group's
metadata in the group's own region, and while that region is down it refuses writes to
anything in the group; the tenant's own group lives in Australia East, so a standby made
during the outage must go into a group in Australia Southeast (docs/dr.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from django.utils import timezone

from dr.steps import look_again_seconds
from operations.context import StepContext, StepFailedError
from operations.kinds import StepResult, Wait
from portal.azure import scaling, web
from portal.azure import site_blueprint as blueprints
from portal.azure.dr import PAIRED_REGION, ROLE_TAG, TENANT_TAG
from portal.azure.errors import AzureError, AzureNotFoundError
from portal.azure.sites import is_key_vault_reference
from portal.resource_ids import name_of, parse
from tenants.models import Tenant

SUFFIX = "-ase"
# A setting named like a credential, or holding one in a connection-string-like value.
_SECRET_NAME = re.compile(
    r"password|passwd|pwd|secret|token|api_?key|access_?key|account_?key|private_?key|"
    r"credential|connection_?string|_sas\b|signature",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(^|;)\s*(password|pwd|accountkey|sharedaccesskey|instrumentationkey|clientsecret)\s*=|"
    r"[?&]sig=",
    re.IGNORECASE,
)

# Checkpoint keys of the step.
PLAN_TOKEN = "standby_plan_token"  # noqa: S105 - a continuation token's key, not a secret
CREATING = "standby_creating"


def looks_secret(name: str, value: str) -> bool:
    return bool(_SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


def settings_to_keep(settings: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(settings a standby may carry, names left out): Key Vault references and plain values
    that do not look like secrets are kept; anything that looks like a secret is not."""
    keep: dict[str, str] = {}
    left_out: list[str] = []
    for name, value in sorted(settings.items()):
        if is_key_vault_reference(value) or not looks_secret(name, value):
            keep[name] = value
        else:
            left_out.append(name)
    return keep, left_out


@dataclass(frozen=True)
class StandbyRecipe:
    """Where the standby goes and what it is built from (kept as JSON in readiness rows and
    operation parameters)."""

    source_site_id: str
    plan_id: str
    site_id: str
    location: str
    blueprint: dict[str, Any]
    recorded_at: str
    notes: list[str] = field(default_factory=list)

    @property
    def left_out(self) -> list[str]:
        return list(self.blueprint.get("left_out", []))

    def parts(self) -> blueprints.SiteBlueprint:
        return blueprints.SiteBlueprint(**self.blueprint)

    def tags(self) -> dict[str, str]:
        return {**self.blueprint.get("tags", {}), ROLE_TAG: "standby"}


def recipe_from(
    tenant: Tenant, blueprint: blueprints.SiteBlueprint, now: datetime
) -> StandbyRecipe:
    """The recipe for `tenant`'s standby from its primary site's blueprint (pure)."""
    paired = parse(tenant.geo_sql_server_id)
    web_group = f"/subscriptions/{paired.subscription_id}/resourceGroups/{paired.resource_group}"
    web_group += "/providers/Microsoft.Web"
    keep, left_out = settings_to_keep(blueprint.app_settings)
    kept = replace(
        blueprint,
        app_settings=keep,
        left_out=left_out,
        tags={**blueprint.tags, TENANT_TAG: tenant.slug},
    )
    notes = []
    references = [v for v in keep.values() if is_key_vault_reference(v)]
    if references and blueprint.key_vault_reference_identity in ("", "SystemAssigned"):
        notes.append(
            "Its Key Vault references resolve with the site's system-assigned identity; the "
            "standby gets a new one, which needs access to the vault before they resolve."
        )
    return StandbyRecipe(
        source_site_id=tenant.app_service_site_id,
        plan_id=f"{web_group}/serverfarms/{name_of(tenant.app_service_plan_id)}{SUFFIX}",
        site_id=f"{web_group}/sites/{name_of(tenant.app_service_site_id)}{SUFFIX}",
        location=PAIRED_REGION,
        blueprint=asdict(kept),
        recorded_at=now.isoformat(),
        notes=notes,
    )


def recipe_read(tenant: Tenant) -> tuple[dict[str, Any], str]:
    """(recipe as JSON, "") for a tenant without a standby, or ({}, why not). Four reads of the
    primary site; nothing when there is no paired server to place it beside."""
    if not tenant.geo_sql_server_id or not tenant.app_service_site_id:
        return {}, ""
    try:
        blueprint = blueprints.site_blueprint_read(tenant.app_service_site_id)
    except AzureError as exc:
        return {}, f"primary site {name_of(tenant.app_service_site_id)}: {exc}"
    return asdict(recipe_from(tenant, blueprint, timezone.now())), ""


# -- the step that builds it ---------------------------------------------------------------------


def _plan_ready(context: StepContext, recipe: StandbyRecipe) -> StepResult | None:
    """None once the plan exists and is provisioned; else begin it / wait for it."""
    token = context.get(PLAN_TOKEN)
    if token:
        outcome = scaling.plan_scale_wait(recipe.plan_id, token, timeout_seconds=0)
        if outcome.done and not outcome.succeeded:
            raise StepFailedError(
                f"App Service could not create the plan {name_of(recipe.plan_id)}: "
                f"{outcome.error_message}",
                code=outcome.error_code or "StandbyPlanFailed",
            )
        if outcome.done:
            return None
        return Wait(_look_again(), f"Creating the plan {name_of(recipe.plan_id)}…")
    state = blueprints.plan_provisioning_state(recipe.plan_id)
    if state == "Succeeded":
        return None
    if state is None:
        token = blueprints.plan_create_begin(
            plan_id=recipe.plan_id,
            location=recipe.location,
            blueprint=recipe.parts(),
            tags=recipe.tags(),
        )
        context.save(**{PLAN_TOKEN: token})
    elif state == "Failed":
        raise StepFailedError(
            f"The plan {name_of(recipe.plan_id)} exists but its provisioning failed.",
            code="StandbyPlanFailed",
        )
    return Wait(_look_again(), f"Creating the plan {name_of(recipe.plan_id)}…")


def _look_again() -> float:
    return min(look_again_seconds(), 5.0)


def standby_ensure(context: StepContext, recipe_json: Mapping[str, Any]) -> StepResult:
    """The standby exists and (when this step made it) is stopped. Found by name first, so a
    run resumed after a worker was killed, or a standby made meanwhile, is not made twice."""
    if not recipe_json:
        return "The standby site was there when the operation was requested."
    recipe = StandbyRecipe(**recipe_json)
    name = name_of(recipe.site_id)
    try:
        site = web.site_get(recipe.site_id)
    except AzureNotFoundError:
        site = None
    if site is not None:
        if context.get(CREATING) and site.is_running:
            # Made by an earlier run of this step that died before stopping it.
            web.site_stop(recipe.site_id)
        return f"The standby site {name} exists."
    waiting = _plan_ready(context, recipe)
    if waiting is not None:
        return waiting
    context.save(**{CREATING: True})
    blueprints.site_create_from(
        site_id=recipe.site_id,
        plan_id=recipe.plan_id,
        location=recipe.location,
        blueprint=recipe.parts(),
        tags=recipe.tags(),
    )
    # App Service starts a new site; a standby waits stopped until configured and started.
    web.site_stop(recipe.site_id)
    left = (
        f" Not copied (looked like secrets): {', '.join(recipe.left_out)}."
        if recipe.left_out
        else ""
    )
    return (
        f"Created the stopped standby {name} on {name_of(recipe.plan_id)} from the primary's "
        f"configuration recorded {recipe.recorded_at[:16].replace('T', ' ')} UTC.{left}"
    )
