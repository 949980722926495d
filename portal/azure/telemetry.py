"""The Azure side of telemetry (docs/telemetry.md): the SDKs' own spans, and Application Insights
through the Azure Monitor OpenTelemetry distro. Here because only portal/azure/ imports Azure."""

from __future__ import annotations

from typing import Any

from azure.core.settings import settings as azure_settings


def azure_sdk_tracing(*, enabled: bool) -> None:
    """Every SDK call (and each HTTP request it makes) becomes a span under the current one,
    through azure-core's OpenTelemetry plugin (azure-core-tracing-opentelemetry)."""
    azure_settings.tracing_implementation = "opentelemetry" if enabled else None


def azure_monitor_configure(*, connection_string: str, resource: Any) -> None:
    """Traces, metrics and logs (the root logger's records) to Application Insights. The distro
    instruments Django and the Azure SDKs itself; not `requests`/`urllib3`, whose spans would
    duplicate the HTTP spans azure-core already makes for every SDK request."""
    # Imported here: the distro is large, and only production processes need it.
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(
        connection_string=connection_string,
        resource=resource,
        logger_name="",
        instrumentation_options={
            "requests": {"enabled": False},
            "urllib": {"enabled": False},
            "urllib3": {"enabled": False},
        },
    )
