"""dr.standby's step through the emulator: the standby is found by name before anything is
made, and a run that died between making the site and stopping it stops it without making it
again (a kind of the test's own, driven in process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dr.models import DrReadiness
from dr.services import readiness_refresh
from dr.standby import CREATING, StandbyRecipe, standby_ensure
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.kinds import OperationKind, Step, registered
from operations.models import Operation
from operations.services import operation_request
from portal.azure import scaling, site_blueprint, web
from portal.roles import REQUEST_RESTORE
from tests.dr.conftest import standby_remove
from tests.drive import drive
from tests.monitoring.conftest import seeded
from tests.request_log import request_marker, requests_since, writes_since

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

KIND = "test_dr_standby"


@dataclass(frozen=True)
class Parameters:
    recipe: dict[str, Any]


ENSURE = OperationKind(
    name=KIND,
    label="Make the standby (test)",
    permission=REQUEST_RESTORE,
    needs_approval=lambda: False,
    plan=lambda operation: [
        Step("standby", "Standby", lambda c: standby_ensure(c, c.parameters(Parameters).recipe))
    ],
    parameters=Parameters,
)


@pytest.fixture
def recipe(azure_emulator, fleet, control):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    slug = seeded(azure_emulator, "no_standby_site")["slug"]
    made = StandbyRecipe(**DrReadiness.objects.get(tenant__slug=slug).standby_recipe)
    yield made
    standby_remove(made)


def _run(recipe, support, **checkpoint):
    tenant = DrReadiness.objects.get(standby_recipe__site_id=recipe.site_id).tenant
    with registered(ENSURE):
        operation = operation_request(
            kind=KIND,
            tenant=tenant,
            requested_by=support,
            reason="test",
            parameters=Parameters(recipe=vars(recipe)),
            enqueue=lambda pk, c: None,
        )
        if checkpoint:
            Operation.objects.filter(pk=operation.pk).update(checkpoint=checkpoint)
        drive(operation, seconds=60)
    return operation


def test_a_site_made_by_a_run_that_died_before_stopping_it_is_stopped_not_made_again(
    azure_emulator, recipe, support
):
    # The first run made the plan and the site (App Service starts it), then died.
    token = site_blueprint.plan_create_begin(
        plan_id=recipe.plan_id, location=recipe.location, blueprint=recipe.parts(), tags={}
    )
    assert scaling.plan_scale_wait(recipe.plan_id, token, timeout_seconds=30).succeeded
    site_blueprint.site_create_from(
        site_id=recipe.site_id,
        plan_id=recipe.plan_id,
        location=recipe.location,
        blueprint=recipe.parts(),
        tags=recipe.tags(),
    )
    assert web.site_get(recipe.site_id).is_running
    marker = request_marker(azure_emulator)

    operation = _run(recipe, support, **{CREATING: True})

    assert operation.state == Operation.State.SUCCEEDED, operation.error_message
    assert web.site_get(recipe.site_id).state == "Stopped"
    writes = [r["method"] for r in requests_since(azure_emulator, marker) if r["method"] != "GET"]
    assert writes == ["POST"]  # the stop; nothing made again


def test_a_standby_that_exists_by_name_is_left_as_it_is(azure_emulator, recipe, support):
    first = _run(recipe, support)
    assert first.state == Operation.State.SUCCEEDED, first.error_message
    web.site_start(recipe.site_id)  # someone uses it meanwhile
    marker = request_marker(azure_emulator)

    again = _run(recipe, support)

    assert again.state == Operation.State.SUCCEEDED
    assert f"The standby site {recipe.site_id.rsplit('/', 1)[-1]} exists." in (
        again.steps.get(key="standby").message
    )
    assert writes_since(azure_emulator, marker) == 0
    assert web.site_get(recipe.site_id).is_running
