"""Routes outside ARM's request pipeline: the control API and the Entra ID endpoints.

They are declared as ARM's are (:class:`azure_emulator.arm.Router`): a module-level
``router = PlainRouter()`` and plain module-level handlers under ``@router.route(...)``. The
handlers take the emulator as their first argument; :meth:`PlainRouter.starlette_routes` binds
them to one emulator (with ``functools.partial``, which Starlette unwraps) when its app is built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.routing import Route

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class PlainRoute:
    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    # Served without the host's own check (the control API's token); see control.py.
    public: bool = False


class PlainRouter:
    def __init__(self) -> None:
        self.routes: list[PlainRoute] = []

    def route(
        self, *paths: str, methods: Sequence[str] = ("GET",), public: bool = False
    ) -> Callable[[F], F]:
        def register(handler: F) -> F:
            for path in paths:
                self.routes.append(PlainRoute(path, tuple(methods), handler, public))
            return handler

        return register

    def starlette_routes(self, endpoint: Callable[..., Any], *bound: Any) -> list[Route]:
        """One Starlette route per declared path, served by ``endpoint(*bound, route, request)``."""
        return [
            Route(
                r.path,
                functools.partial(endpoint, *bound, r),
                methods=list(r.methods),
                name=r.handler.__name__,
            )
            for r in self.routes
        ]
