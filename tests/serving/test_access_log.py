"""Every request gets an id (the caller's or a new one), echoed and logged with its status, the
model version it was answered with and its latency; a suggestion request counts as in flight for
the batcher only until its response is sent."""
from __future__ import annotations

import json
import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from serving.access_log import AccessLog
from serving.batching import SuggestionBatcher


class Unused:
    def suggest(self, listings):
        raise AssertionError("nothing is priced here")


def client() -> tuple[TestClient, SuggestionBatcher]:
    batcher = SuggestionBatcher(Unused(), max_batch=1)
    app = FastAPI()
    app.add_middleware(AccessLog, batcher=batcher, priced_paths=("/price",))

    @app.post("/price")
    def price(request: Request) -> dict:
        assert batcher.in_flight == 1  # counted while the request is in the app
        request.state.model_version = "v7"
        if request.headers.get("authorization") != "Bearer ok":
            raise HTTPException(401)
        return {"request_id": request.state.request_id}

    return TestClient(app), batcher


def test_the_request_id_is_echoed_logged_and_seen_by_the_endpoint(caplog):
    http, batcher = client()
    with caplog.at_level(logging.INFO, logger="pricesuggest.serving"):
        given = http.post("/price", headers={"x-request-id": "abc-1", "authorization": "Bearer ok"})
        fresh = http.post("/price", headers={"authorization": "Bearer ok"})
        refused = http.post("/price")
    assert given.headers["x-request-id"] == given.json()["request_id"] == "abc-1"
    assert len(fresh.headers["x-request-id"]) == 32 and fresh.json()["request_id"] == fresh.headers["x-request-id"]
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "pricesuggest.serving"]
    assert [(x["request_id"], x["status"], x["model_version"]) for x in lines] == [
        ("abc-1", 200, "v7"), (fresh.headers["x-request-id"], 200, "v7"), (refused.headers["x-request-id"], 401, "v7")]
    assert all(x["latency_ms"] >= 0 and x["path"] == "/price" for x in lines)
    assert batcher.in_flight == 0  # every request, answered or refused, stopped counting
    batcher.close()
