"""Property-based fuzzing of the whole OpenAPI document with schemathesis: every operation, with generated
parameters and bodies (valid and invalid ones), answers without a 5xx, with a documented status, content type
and headers, and a body that matches its schema. Requests carry an admin token so the writes are fuzzed too
(the refusals without one are tested in test_rest_writes.py)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from benchmark_pipeline.rest.app import create_app
from benchmark_pipeline.rest.tokens import TokenStore
from benchmark_pipeline.config import Settings

pytestmark = pytest.mark.slow


# The document is read from an application over no warehouse at all (building one opens nothing); each test runs
# its cases against an application over its own copy of the sample warehouse. (schemathesis' fixture-based lazy
# loading does not work with this pytest.)
# The coverage phase (every boundary of every parameter, thousands of cases) is left out: on this 2-core machine it
# takes 20 minutes; the examples and fuzzing phases, valid and invalid data alike, run here.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings.from_env(db_path="/nonexistent/openapi-only.duckdb", env={})),
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}},
                                          "generation": {"mode": "all"}}))


@pytest.fixture
def target(warehouse):
    config = Settings.from_env(db_path=warehouse, env={})
    token, _ = TokenStore(config.tokens_path).create("admin", name="fuzz")
    return create_app(config), {"Authorization": f"Bearer {token}"}


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                                   response_schema_conformance, status_code_conformance)

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
            response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, target):
    app, headers = target
    case.call_and_validate(app=app, headers=headers, checks=_checks())
