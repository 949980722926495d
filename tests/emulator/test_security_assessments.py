"""Defender recommendations (assessments, api-version 2021-06-01) through azure-mgmt-security."""

from __future__ import annotations

import pytest
from azure.mgmt.security.v2021_06_01.models import AzureResourceDetails

from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration


def everything(emulator):
    return [
        a
        for s in emulator.subscription_ids
        for a in clients.security(emulator, s).assessments.list(f"subscriptions/{s}")
    ]


def test_a_subscription_list_returns_each_resources_assessments_with_their_status(emulator):
    subscription = emulator.subscription_ids[0]
    client = clients.security(emulator, subscription)

    found = list(client.assessments.list(f"subscriptions/{subscription}"))

    assert found and all(a.type == "Microsoft.Security/assessments" for a in found)
    assert all(isinstance(a.resource_details, AzureResourceDetails) for a in found)
    assert all(a.resource_details.source == "Azure" for a in found)
    assert all(a.id.lower().startswith(a.resource_details.id.lower() + "/") for a in found)
    assert all(a.id.split("/")[2] == subscription for a in found)
    assert all(a.display_name and a.status.first_evaluation_date for a in found)


def test_the_seeded_fleet_has_a_few_unhealthy_resources_and_mostly_healthy_ones(emulator):
    codes = [a.status.code for a in everything(emulator)]

    unhealthy = codes.count("Unhealthy")
    assert 0 < unhealthy < codes.count("Healthy") / 4
    assert set(codes) == {"Healthy", "Unhealthy"}


def test_unhealthy_assessments_say_why_and_their_metadata_gives_severity_and_remediation(
    emulator,
):
    client = clients.security(emulator, emulator.subscription_ids[0])
    unhealthy = next(a for a in everything(emulator) if a.status.code == "Unhealthy")

    metadata = {m.name: m for m in client.assessments_metadata.list()}

    assert unhealthy.status.description
    entry = metadata[unhealthy.name]
    assert entry.display_name == unhealthy.display_name
    assert entry.severity in {"High", "Medium", "Low"}
    assert entry.remediation_description and entry.description
    assert entry.type == "Microsoft.Security/assessmentMetadata"


def test_the_assessments_are_the_same_after_a_reseed(emulator):
    before = {(a.id, a.status.code) for a in everything(emulator)}

    emulator.reset()
    again = {(a.id, a.status.code) for a in everything(emulator)}

    assert again == before
