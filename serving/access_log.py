"""Every request's id, outcome and latency, as one JSON log line (ASGI middleware).

The request id is the caller's `X-Request-ID` or a new one; it is echoed in the response's
`X-Request-ID` and kept in the request's state for the endpoint (the served log, a 422's body),
which adds the model version it answered with. A suggestion request is also counted as in
flight for the batcher (serving/batching.py) from here, when its headers are read, until its
response is sent.

Plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which runs every request through a
task group and memory streams of its own: a share of the framework's time per request that two
cores could not spare (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import json
import logging
import time
import uuid

log = logging.getLogger("pricesuggest.serving")


class AccessLog:
    def __init__(self, app, batcher, priced_paths: tuple[str, ...]):
        self.app, self.batcher, self.priced_paths = app, batcher, priced_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:128] or uuid.uuid4().hex
        state = scope.setdefault("state", {})  # what Starlette's request.state reads and writes
        state["request_id"] = request_id
        priced = scope["method"] == "POST" and scope["path"] in self.priced_paths
        in_flight = self.batcher.request() if priced else None
        status = 500  # unless a response starts: an exception escaping the app

        async def with_request_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, with_request_id)
        finally:
            if in_flight is not None:
                in_flight.done()
            log.info(json.dumps({"request_id": request_id, "method": scope["method"], "path": scope["path"],
                                 "status": status, "model_version": state.get("model_version"),
                                 "latency_ms": round((time.perf_counter() - started) * 1000, 2)}))
