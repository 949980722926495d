"""Visits every URL of the URLconf as each kind of person and checks the answer.

A new URL that is not in EXPECTED fails `test_every_url_is_in_the_table`, so no page ships
without someone deciding who may see it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from monitoring.models import PoolSnapshot
from operations.models import Operation
from portal.audit import audit_record
from portal.models import StaffProfile
from tenants.models import Tenant
from tests.factories import TenantFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

PERSONAS = ("anonymous", "outsider", "account_manager", "support", "admin_user")
STAFF = ("account_manager", "support", "admin_user")


def answer(
    default: int = 403, *, anonymous: int = 302, outsider: int = 403, **staff: int
) -> dict[str, int]:
    """Expected status per persona: staff default to `default` unless named."""
    return {
        "anonymous": anonymous,
        "outsider": outsider,
        **{persona: staff.get(persona, default) for persona in STAFF},
    }


def only(*personas: str, ok: int = 200, otherwise: int = 403) -> dict[str, int]:
    return answer(otherwise, **dict.fromkeys(personas, ok))


def model_rows(
    prefix: str, obj: str, *, view: tuple[str, ...], add=(), change=(), delete=()
) -> dict[tuple[str, str], dict[str, int]]:
    name = prefix.replace("/", "_")
    return {
        (f"admin:{name}_changelist", f"/{prefix}/"): only(*view),
        (f"admin:{name}_add", f"/{prefix}/add/"): only(*add),
        (f"admin:{name}_history", f"/{prefix}/{obj}/history/"): only(*view),
        (f"admin:{name}_delete", f"/{prefix}/{obj}/delete/"): only(*delete),
        (f"admin:{name}_change", f"/{prefix}/{obj}/change/"): only(*view),
        # Django's redirect from the bare object URL to its change page.
        (f"{prefix}/<path:object_id>/", f"/{prefix}/{obj}/"): answer(302),
    }


ADMIN = ("admin_user",)
EVERYONE_STAFF = STAFF


def expected_table(objects: dict[str, str]) -> dict[tuple[str, str], dict[str, int]]:
    table: dict[tuple[str, str], dict[str, int]] = {
        # No broker in these tests: the full report says so with a 503, to anyone.
        ("healthz", "/healthz"): dict.fromkeys(PERSONAS, 503),
        ("healthz-live", "/healthz/live"): dict.fromkeys(PERSONAS, 200),
        ("sign-in", "/auth/sign-in/"): answer(302, anonymous=200, outsider=200),
        ("auth-start", "/auth/start/"): dict.fromkeys(PERSONAS, 302),
        # No sign-in in progress: refused whoever asks.
        ("auth-callback", "/auth/callback"): dict.fromkeys(PERSONAS, 400),
        ("sign-out", "/auth/sign-out/"): dict.fromkeys(PERSONAS, 405),
        ("break-glass", "/auth/break-glass/"): dict.fromkeys(PERSONAS, 404),
        ("admin:index", "/"): answer(200),
        ("admin:login", "/login/"): dict.fromkeys(PERSONAS, 302),
        ("admin:logout", "/logout/"): answer(405),
        ("admin:password_change", "/password_change/"): answer(403),
        ("admin:password_change_done", "/password_change/done/"): answer(403),
        ("admin:autocomplete", "/autocomplete/"): answer(403),
        ("admin:jsi18n", "/jsi18n/"): answer(200),
        ("admin:view_on_site", f"/r/{objects['tenant_ct']}/{objects['tenant']}/"): answer(404),
        ("admin:app_list", "/tenants/"): answer(200),
        ("admin:app_list", "/portal/"): only(*ADMIN, otherwise=404),
        ("admin:app_list", "/auth/"): only(*ADMIN, otherwise=404),
        ("admin:app_list", "/django_celery_beat/"): only(*ADMIN, otherwise=404),
        ("(?P<url>.*)$", "/no-such-page/"): answer(404),
        ("admin:portal_auditevent_export", "/portal/auditevent/export.csv"): only(*ADMIN),
        ("admin:auth_user_password_change", f"/auth/user/{objects['user']}/password/"): answer(403),
        # The portal's own pages.
        ("tenants:detail", "/fleet/acme/"): answer(200),
        ("tenants:operations", "/fleet/acme/operations"): answer(200),
        ("backups:restore", "/fleet/acme/restore/"): only("support", "admin_user"),
        ("backups:restore-snapshot", "/fleet/acme/restore/snapshot"): only("support", "admin_user"),
        ("backups:restore-preview", "/fleet/acme/restore/preview"): only("support", "admin_user"),
        ("backups:restore-confirm", "/fleet/acme/restore/confirm"): dict.fromkeys(PERSONAS, 405),
        ("keys:rotate", "/fleet/acme/rotate-key/"): only("admin_user"),
        ("scaling:scale", "/fleet/acme/scale/"): only("admin_user"),
        ("scaling:scale-confirm", "/fleet/acme/scale/confirm"): dict.fromkeys(PERSONAS, 405),
        ("scaling-advice:rebalancing", "/scaling/advice/"): only("admin_user"),
        ("key-inventory:list", "/keys/"): only("admin_user"),
        ("pool-scaling:scale", f"/scaling/pools/{objects['pool']}/"): only("admin_user"),
        ("pool-scaling:confirm", f"/scaling/pools/{objects['pool']}/confirm"): dict.fromkeys(
            PERSONAS, 405
        ),
        ("operations:list", "/operations/"): answer(200),
        ("monitoring:pools", "/monitoring/pools/"): answer(200),
        ("monitoring:alerts", "/monitoring/alerts/"): answer(200),
        ("monitoring:posture", "/monitoring/posture/"): answer(200),
        ("dr:readiness", "/dr/"): answer(200),
        # POST only; who may post is pinned in tests/dr/test_drill_views.py.
        ("dr:drill", "/dr/drill"): dict.fromkeys(PERSONAS, 405),
        # POST only; who may post is pinned in tests/dr/test_repatriation_views.py.
        ("dr:repatriate", "/dr/repatriate"): dict.fromkeys(PERSONAS, 405),
        ("dr:failover_declare", "/dr/failover/"): only(*ADMIN),
        ("dr:failover", f"/dr/failover/{objects['failover']}/"): answer(200),
        # POST only; who may post is pinned in tests/monitoring/test_triage.py.
        ("monitoring:alert-triage", "/monitoring/alerts/1/triage"): dict.fromkeys(PERSONAS, 405),
        # POST only (tests/monitoring/test_refresh_buttons.py).
        ("monitoring:refresh-fleet", "/monitoring/refresh"): dict.fromkeys(PERSONAS, 405),
        ("monitoring:refresh-tenant", "/monitoring/refresh/acme"): dict.fromkeys(PERSONAS, 405),
        ("operations:approvals", "/operations/approvals/"): only(*ADMIN),
        ("operations:approvals-approve", f"/operations/approvals/{objects['operation']}/approve"): (
            dict.fromkeys(PERSONAS, 405)
        ),
        ("operations:approvals-reject", f"/operations/approvals/{objects['operation']}/reject"): (
            dict.fromkeys(PERSONAS, 405)
        ),
        ("operations:detail", f"/operations/{objects['operation']}/"): answer(200),
        ("operations:progress", f"/operations/{objects['operation']}/progress"): answer(200),
        ("operations:approve", f"/operations/{objects['operation']}/approve"): dict.fromkeys(
            PERSONAS, 405
        ),
        ("operations:cancel", f"/operations/{objects['operation']}/cancel"): dict.fromkeys(
            PERSONAS, 405
        ),
        ("notifications:preferences", "/notifications/preferences/"): answer(200),
        ("notifications:sent", "/notifications/sent/"): only(*ADMIN),
        ("operations:pause", f"/operations/{objects['operation']}/pause"): dict.fromkeys(
            PERSONAS, 405
        ),
        ("operations:resume", f"/operations/{objects['operation']}/resume"): dict.fromkeys(
            PERSONAS, 405
        ),
    }
    table.update(_api_rows(objects))
    table.update(
        model_rows(
            "tenants/tenant", objects["tenant"], view=STAFF, add=ADMIN, change=ADMIN, delete=ADMIN
        )
    )
    table.update(model_rows("portal/auditevent", objects["auditevent"], view=ADMIN))
    table.update(
        model_rows("portal/staffprofile", objects["staffprofile"], view=ADMIN, change=ADMIN)
    )
    table.update(model_rows("auth/user", objects["user"], view=ADMIN))
    table.update(model_rows("auth/group", objects["group"], view=ADMIN))
    # Clocked, crontab and solar schedules are not in the admin unless opted in.
    for model in ("periodictask", "intervalschedule"):
        table.update(
            model_rows(
                f"django_celery_beat/{model}",
                objects[model],
                view=ADMIN,
                add=ADMIN,
                change=ADMIN,
                delete=ADMIN,
            )
        )
    return table


def _api_rows(objects: dict[str, str]) -> dict[tuple[str, str], dict[str, int]]:
    """The JSON API answers a session with 401: only a bearer token counts there (tests/api
    checks every endpoint with tokens of every role). Its schema and docs are for staff."""
    operation = objects["operation"]
    return {
        ("api-v1:api-root", "/api/v1/"): dict.fromkeys(PERSONAS, 404),
        ("api-v1:unknown", "/api/v1/no/such/endpoint"): dict.fromkeys(PERSONAS, 404),
        ("api-v1:openapi-json", "/api/v1/openapi.json"): answer(200),
        ("api-v1:openapi-view", "/api/v1/docs"): answer(200),
        ("api-v1:tenant_list", "/api/v1/tenants"): dict.fromkeys(PERSONAS, 401),
        ("api-v1:tenant_get", "/api/v1/tenants/acme"): dict.fromkeys(PERSONAS, 401),
        ("api-v1:operation_list", "/api/v1/operations"): dict.fromkeys(PERSONAS, 401),
        ("api-v1:operation_get", f"/api/v1/operations/{operation}"): dict.fromkeys(PERSONAS, 401),
        # POST only.
        ("api-v1:operation_approve_call", f"/api/v1/operations/{operation}/approve"): (
            dict.fromkeys(PERSONAS, 405)
        ),
        ("api-v1:operation_cancel_call", f"/api/v1/operations/{operation}/cancel"): (
            dict.fromkeys(PERSONAS, 405)
        ),
        ("api-v1:restore_plan_call", "/api/v1/restores/plan"): dict.fromkeys(PERSONAS, 405),
        ("api-v1:restore_request_call", "/api/v1/restores"): dict.fromkeys(PERSONAS, 405),
    }


def url_keys() -> set[str]:
    keys: set[str] = set()

    def walk(patterns, namespace: str = "", prefix: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    pattern.namespace or namespace,
                    prefix + str(pattern.pattern),
                )
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    keys.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
                else:
                    keys.add(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return keys


@pytest.fixture
def objects(admin_user, account_manager):
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    tenant = TenantFactory(slug="acme")
    operation = Operation.objects.create(
        tenant=tenant,
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        kind="restore_parallel",
        state=Operation.State.SUCCEEDED,
        requested_by=admin_user,
        reason="a drill",
        parameters={"target_name": "db-acme-restore-20260101-000000"},
    )
    failover = Operation.objects.create(
        subject_type=Operation.Subject.REGION,
        subject_id="australiaeast",
        subject_label="Australia East",
        kind="region_failover",
        state=Operation.State.AWAITING_APPROVAL,
        requested_by=admin_user,
        reason="Australia East is down",
        parameters={"region": "australiaeast", "basis": "declared", "evidence": ""},
    )
    pool = PoolSnapshot.objects.create(
        pool_id=tenant.elastic_pool_id.lower(), name="pool-01", server_name="sql-fw"
    )
    return {
        "pool": str(pool.pk),
        "operation": str(operation.pk),
        "failover": str(failover.pk),
        "tenant": str(tenant.pk),
        "tenant_ct": str(ContentType.objects.get_for_model(Tenant).pk),
        "auditevent": str(audit_record(action="tenant.update", tenant="acme").pk),
        "staffprofile": str(StaffProfile.objects.create(user=account_manager).pk),
        "user": str(admin_user.pk),
        "group": str(Group.objects.get(name="Support").pk),
        "periodictask": str(
            PeriodicTask.objects.create(name="refresh", task="portal.ping", interval=interval).pk
        ),
        "intervalschedule": str(interval.pk),
        "crontabschedule": str(CrontabSchedule.objects.create(minute="0").pk),
        "solarschedule": str(
            SolarSchedule.objects.create(event="sunrise", latitude=-33.87, longitude=151.21).pk
        ),
        "clockedschedule": str(
            ClockedSchedule.objects.create(clocked_time="2030-01-01T00:00:00Z").pk
        ),
    }


def test_every_url_is_in_the_table(objects):
    covered = {name for name, _ in expected_table(objects)}
    missing = url_keys() - covered
    assert not missing, f"URLs with no expected answers per role: {sorted(missing)}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_url_answers_each_persona_as_expected(
    client, request, persona, objects, azure_emulator
):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    wrong = []
    for (name, path), expected in expected_table(objects).items():
        status = client.get(path).status_code
        if status != expected[persona]:
            wrong.append(f"{name} {path}: expected {expected[persona]}, got {status}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", ["anonymous", "outsider", "account_manager", "support"])
def test_a_post_to_any_admin_action_without_permission_changes_nothing_and_is_audited(
    client, request, persona, objects
):
    from portal.models import AuditEvent

    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    actions = [
        (name, path)
        for (name, path), expected in expected_table(objects).items()
        if name.endswith(("_add", "_change", "_delete"))
        and (expected[persona] == 403 or persona == "anonymous")
    ]
    assert actions
    counts_before = (
        Tenant.objects.count(),
        StaffProfile.objects.count(),
        PeriodicTask.objects.count(),
    )
    for name, path in actions:
        before = AuditEvent.objects.filter(action="access.denied").count()
        response = client.post(path, {"post": "yes", "display_name": "changed", "name": "changed"})
        assert response.status_code == 403, f"{name}: {response.status_code}"
        denied = AuditEvent.objects.filter(action="access.denied").order_by("-id")
        assert denied.count() == before + 1, name
        assert denied.first().details["method"] == "POST"
    assert (
        Tenant.objects.count(),
        StaffProfile.objects.count(),
        PeriodicTask.objects.count(),
    ) == counts_before
    assert Tenant.objects.get(slug="acme").display_name != "changed"
