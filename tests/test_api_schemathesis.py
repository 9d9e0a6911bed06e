"""Property-based tests from the OpenAPI schema: the server does what the schema says.

Schemathesis generates valid and invalid requests for every operation and runs
every check it has (the CLI's ``--checks all``): no 5xx; documented status
codes, content types, headers and bodies; data the schema forbids is refused
and data it allows is accepted; undocumented methods get 405 with a true
``Allow``; a missing API key is refused. Bounded examples per operation keep
this to a few seconds.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from api.settings import Settings
from data.lifecycle_db import Database
from models.api import Role
from tests.lifecycle_fixtures import KEYS, make_db

MAX_EXAMPLES = 12
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
# The schema needs only the routes; the store is attached by the fixture below.
app = create_app(Settings(bootstrap_admin=False), db=None)
# Schema-valid data may still break rules that need the store (an unknown SKU or
# node, a ZIP outside its state, a promotion used up): those are 422s naming the
# field, so the positive-data check expects them besides 2xx and the 4xx of state.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422", "428"]
            }
        }
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


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
        checks=ALL_CHECKS,
    )
