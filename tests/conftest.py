from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import mosquitto


@pytest.fixture
def mosquitto_broker(tmp_path) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with mosquitto(tmp_path) as address:
        yield address
