"""The fleet dashboard's filters, sorting and page: a fixed number of queries at any fleet size.

Everything the dashboard filters or sorts on is a column of the tenant's row or its joined health
row, so one query fetches a page, one counts the filtered rows, one counts by status and one
lists the filter choices, whatever the number of tenants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.paginator import Page, Paginator
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy

from monitoring.fleet_rows import FleetRow, fleet_rows
from monitoring.models import HealthStatus
from monitoring.selectors import fleet_counts, fleet_for_user, health_status_q
from tenants.models import Tenant

PAGE_SIZE = 50
# The 24 h series and lists the tenant page draws: tens of kilobytes of JSON per tenant that
# no dashboard cell reads, so the page's query leaves them out (fleet_rows reads none of them).
HEAVY_COLUMNS = tuple(
    f"health__{name}"
    for name in (
        "db_series", "app_series", "ai_series", "recommendations", "ltr_backups",
        "ltr_policy", "backup_window_parts",
    )
)  # fmt: skip
FILTERS = ("q", "status", "alerts", "posture", "recommendations", "pool", "region", "manager")

# Worst first: the order a person triaging the fleet reads it in.
STATUS_RANK = Case(
    When(health__status=HealthStatus.DOWN, then=Value(0)),
    When(health__status=HealthStatus.DEGRADED, then=Value(1)),
    When(health__status=HealthStatus.UNKNOWN, then=Value(2)),
    When(health__status=HealthStatus.HEALTHY, then=Value(3)),
    default=Value(2),
    output_field=IntegerField(),
)


def _desc(field: str) -> OrderBy:
    return F(field).desc(nulls_last=True)


def _asc(field: str) -> OrderBy:
    return F(field).asc(nulls_last=True)


# Sort key -> ordering (the tenant's slug always breaks ties, so pages never overlap).
SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "status": ("Status (worst first)", (STATUS_RANK.asc(), "slug")),
    "tenant": ("Tenant", ("slug",)),
    "pool": ("Pool use (highest first)", (_desc("health__pool_use_percent"), "slug")),
    "backups": ("Oldest latest restore point", (_asc("health__backup_latest"), "slug")),
    "alerts": (
        "Open alerts (most severe first)",
        (
            _desc("health__alerts_high"),
            _desc("health__alerts_medium"),
            _desc("health__alerts_low"),
            _desc("health__alerts_informational"),
            "slug",
        ),
    ),
    "posture": ("Posture failures", (_desc("health__posture_failures"), "slug")),
    "recommendations": (
        "Open recommendations (most first)",
        (_desc("health__open_recommendations"), "slug"),
    ),
    "as_of": ("Oldest data first", (_asc("health__as_of"), "slug")),
}


class FleetFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *HealthStatus.choices])
    alerts = forms.BooleanField(required=False, label="Has open alerts")
    posture = forms.BooleanField(required=False, label="Posture failures")
    recommendations = forms.BooleanField(required=False, label="Has open recommendations")
    pool = forms.ChoiceField(required=False, choices=[("", "Any pool")])
    region = forms.ChoiceField(required=False, choices=[("", "Any region")])
    manager = forms.ChoiceField(
        required=False, choices=[("", "Any account manager")], label="Account manager"
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )

    def __init__(self, data: Any, *, choices: FilterChoices) -> None:
        super().__init__(data)
        self._set_choices("pool", "Any pool", [(p, p) for p in choices.pools])
        self._set_choices("region", "Any region", [(r, r) for r in choices.regions])
        self._set_choices(
            "manager",
            "Any account manager",
            [(str(pk), name) for pk, name in choices.managers],
        )

    def _set_choices(self, name: str, anything: str, found: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        if not isinstance(field, forms.ChoiceField):
            raise TypeError(f"{name} is not a choice field")
        field.choices = [("", anything), *found]


@dataclass(frozen=True)
class FilterChoices:
    pools: list[str]
    regions: list[str]
    managers: list[tuple[int, str]]


def filter_choices(fleet: QuerySet[Tenant]) -> FilterChoices:
    """The pools, regions and account managers among the person's tenants (one query)."""
    rows = fleet.values_list(
        "health__pool_name",
        "region",
        "account_manager_id",
        "account_manager__first_name",
        "account_manager__last_name",
        "account_manager__username",
    ).distinct()
    pools, regions, managers = set(), set(), {}
    for pool, region, manager_id, first, last, username in rows:
        if pool:
            pools.add(pool)
        if region:
            regions.add(region)
        if manager_id is not None:
            managers[manager_id] = f"{first} {last}".strip() or username
    return FilterChoices(
        pools=sorted(pools),
        regions=sorted(regions),
        managers=sorted(managers.items(), key=lambda item: item[1].lower()),
    )


def _filtered(fleet: QuerySet[Tenant], data: dict[str, Any]) -> QuerySet[Tenant]:
    if data.get("q"):
        term = data["q"].strip()
        fleet = fleet.filter(Q(slug__icontains=term) | Q(display_name__icontains=term))
    if data.get("status"):
        fleet = fleet.filter(health_status_q(data["status"]))
    if data.get("alerts"):
        fleet = fleet.filter(
            Q(health__alerts_high__gt=0)
            | Q(health__alerts_medium__gt=0)
            | Q(health__alerts_low__gt=0)
            | Q(health__alerts_informational__gt=0)
        )
    if data.get("posture"):
        fleet = fleet.filter(health__posture_failures__gt=0)
    if data.get("recommendations"):
        fleet = fleet.filter(health__open_recommendations__gt=0)
    if data.get("pool"):
        fleet = fleet.filter(health__pool_name=data["pool"])
    if data.get("region"):
        fleet = fleet.filter(region=data["region"])
    if data.get("manager"):
        fleet = fleet.filter(account_manager_id=int(data["manager"]))
    return fleet


@dataclass(frozen=True)
class FleetDashboard:
    form: FleetFilterForm
    counts: dict[str, int]
    page: Page[Tenant]
    rows: list[FleetRow]
    sort: str
    filtered: bool
    # The query string without `page` and `sort`, for pagination and sort links.
    query: str


def fleet_dashboard(user: User | AnonymousUser, params: Any) -> FleetDashboard:
    """The page of the person's fleet that `params` (the request's GET) asks for.

    Invalid filters are reported on the form and ignored, so a mistyped link still shows the
    fleet rather than an error page.
    """
    fleet = fleet_for_user(user)
    form = FleetFilterForm(params, choices=filter_choices(fleet))
    data = form.cleaned_data if form.is_valid() else _valid_part(form)
    sort = data.get("sort") or "status"
    rows = _filtered(fleet, data).defer(*HEAVY_COLUMNS).order_by(*SORTS[sort][1])
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(params.get("page"))
    query = params.copy()
    for key in ("page", "sort"):
        query.pop(key, None)
    return FleetDashboard(
        form=form,
        counts=fleet_counts(user),
        page=page,
        rows=fleet_rows(list(page.object_list)),
        sort=sort,
        filtered=any(data.get(k) for k in FILTERS),
        query=query.urlencode(),
    )


def _valid_part(form: FleetFilterForm) -> dict[str, Any]:
    """The fields that did validate (a bad pool name must not drop the status filter)."""
    return {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
