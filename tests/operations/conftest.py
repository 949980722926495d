from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.operations.kinds_for_tests import register_test_kinds, unregister_test_kinds


@pytest.fixture
def engine_kinds() -> Iterator[None]:
    """The test kinds, registered for one test and gone after it."""
    register_test_kinds()
    yield
    unregister_test_kinds()


@pytest.fixture
def enqueued() -> list[tuple[int, float]]:
    """What the services and the engine enqueued (they take the enqueue function as a
    parameter: `enqueue=enqueued.append` style lambdas)."""
    return []
