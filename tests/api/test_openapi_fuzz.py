"""Schemathesis against the generated OpenAPI schema: no generated request makes the API answer 5xx.

Bounded on purpose: a few examples per operation (well under a minute), as an integrator's
key with every scope over the two-site district of conftest.DISTRICT.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from api.app import create_app
from api.auth import create_api_key
from api.models import KEY_SCOPES
from carewatch.db import make_sessions
from api.directory_import import import_document
from carewatch.schema import create_schema
from carewatch.settings import Settings
from tests.api.conftest import DISTRICT

EXAMPLES_PER_OPERATION = 3
STATUSES: set[int] = set()


def _prepare(path: Path) -> tuple[object, str]:
    # NullPool: each request opens its connection in the test client's event loop, never one another loop made.
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
    sessions = make_sessions(engine)

    async def setup() -> str:
        await create_schema(engine)
        async with sessions.begin() as session:
            await import_document(session, DISTRICT)
            _, key = await create_api_key(session, "fuzz", KEY_SCOPES, None, "test")
        return key

    key = asyncio.run(setup())
    return create_app(sessions=sessions, settings=Settings(_env_file=None)), key  # type: ignore[call-arg]


_app, _key = _prepare(Path(__import__("tempfile").mkdtemp(prefix="carewatch-fuzz-")) / "fuzz.db")
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)
_client = TestClient(_app, headers={"Authorization": f"Bearer {_key}"})


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_request_gets_a_server_error(case):  # type: ignore[no-untyped-def]
    response = case.call(session=_client)
    STATUSES.add(response.status_code)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"


def test_the_fuzzing_got_past_authentication() -> None:
    """Runs after the generated cases (file order): they must have reached real handlers, not only 401s."""
    assert 200 in STATUSES and 422 in STATUSES, STATUSES


def teardown_module() -> None:
    _client.close()


pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.heavy]
