"""Schema-driven fuzzing of the HTTP API (schemathesis strategies from the OpenAPI, driven by
Hypothesis): over 1,000 generated requests, valid or not, none gets a server error (5xx), and a
request the server refuses leaves its state byte for byte as it was."""

from __future__ import annotations

import hashlib

import schemathesis
from hypothesis import HealthCheck, given, settings

from edgecraft.live.codec import encode
from edgecraft.serving.app import TOKEN_ENV, create_app
from tests.serving.conftest import _service

TOKEN = "fuzz-token"
EXAMPLES = 300  # per operation


def test_no_generated_request_gets_a_server_error(finished_run, layout, warm, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    service = _service(finished_run, layout, warm_state=warm)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(service))
    sent: dict[str, list[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/stream":
            continue  # an endless event stream: tested on its own
        codes = sent.setdefault(f"{operation.method.upper()} {operation.path}", [])
        _fuzzer(service, operation, codes)()
    total = sum(len(c) for c in sent.values())
    print(f"fuzz: {total} requests over {len(sent)} operations, 0 server errors")
    assert total >= 1000, sent.keys()
    assert any(400 <= code < 500 for code in sent["POST /bars"])


def _fuzzer(service, operation, codes: list[int]):
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case):
        before = hashlib.sha256(encode(service.snapshot())).hexdigest()
        headers = {"Authorization": f"Bearer {TOKEN}"} if case.method == "POST" else {}
        response = case.call(headers=headers)
        codes.append(response.status_code)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        if response.status_code >= 400:  # refused: the state is as it was
            assert hashlib.sha256(encode(service.snapshot())).hexdigest() == before

    return fuzz
