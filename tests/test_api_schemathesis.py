"""Property-based tests from the OpenAPI schema: hostile or odd input is never a 500.

Schemathesis generates valid and invalid requests for every operation; each
must get a documented, well-typed answer (4xx problem+json for bad input).
Bounded examples per operation keep this to a few seconds.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from data.lifecycle_db import Database
from models.api import Role
from tests.lifecycle_fixtures import KEYS, make_db

MAX_EXAMPLES = 12
# The schema needs only the routes; the store is attached by the fixture below.
app = create_app(Settings(bootstrap_admin=False), db=None)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def store() -> Iterator[Database]:
    db = make_db()
    app.state.db = db
    yield db
    app.state.db = None
    db.close()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_documented_answers(case: schemathesis.Case, store: Database) -> None:
    case.call_and_validate(
        headers={"X-API-Key": KEYS[Role.ADMIN]},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
