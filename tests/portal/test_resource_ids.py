"""One ARM resource-id parser for the whole portal: the Azure boundary, the catalogue's
validation and the restore steps read ids the same way."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.azure import resource_ids as boundary
from portal.resource_ids import name_of, parse
from tenants.resource_ids import DATABASE, ELASTIC_POOL, SQL_SERVER, resource_id_parts

SUB = "11111111-2222-3333-4444-555555555555"
SERVER = f"/subscriptions/{SUB}/resourceGroups/rg-fw/providers/Microsoft.Sql/servers/sql-01"
DB = f"{SERVER}/databases/db-acme"


def test_the_azure_boundary_uses_the_same_parser():
    assert boundary.parse is parse


def test_the_catalogue_reads_an_id_as_the_parser_does():
    parsed = parse(DB)
    assert resource_id_parts(DATABASE, DB) == {
        "subscription": parsed.subscription_id,
        "resource_group": parsed.resource_group,
        "name": parsed.name,
        "server": parsed.name_of("servers"),
    }
    assert str(parsed.parent) == SERVER
    assert resource_id_parts(SQL_SERVER, str(parsed.parent))["name"] == "sql-01"


def test_case_does_not_matter_to_either():
    shouted = DB.replace("resourceGroups", "RESOURCEGROUPS").replace(
        "Microsoft.Sql", "MICROSOFT.SQL"
    )
    assert parse(shouted, expect="Microsoft.Sql/servers/databases").name == "db-acme"
    assert resource_id_parts(DATABASE, shouted)["name"] == "db-acme"


@pytest.mark.parametrize(
    "value",
    [
        DB.lstrip("/"),  # no leading slash
        f"{DB}/",  # trailing slash
        f" {DB}",  # padding
        DB.replace(SUB, "not-a-guid"),
        DB.replace("databases", "elasticPools"),  # the wrong kind of child
        f"{SERVER}/databases/db acme",  # a name Azure refuses
        "https://portal.azure.com/#resource" + DB,
    ],
)
def test_the_catalogue_refuses_what_is_not_an_id_of_the_kind(value):
    with pytest.raises(ValidationError, match="Not a valid SQL database resource id"):
        resource_id_parts(DATABASE, value)


def test_a_pool_is_the_child_of_its_server():
    pool = f"{SERVER}/elasticPools/pool-01"
    assert resource_id_parts(ELASTIC_POOL, pool)["server"] == "sql-01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(DB, "db-acme"), (SERVER, "sql-01"), ("", "—"), (None, "—"), ("not/an/id", "—")],
)
def test_name_of_gives_the_last_name_or_the_default(value, expected):
    assert name_of(value, default="—") == expected
