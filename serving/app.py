"""The suggestion service's HTTP API (FastAPI): a suggestion at upload time.

  POST /v1/suggestions   multipart: photo (file), title, description, category, seller_id,
                         brand and condition optional -> the suggestion, or 422 with the reason
  GET  /                 the seller's page (serving/seller_page.html): a form and its result
  POST /page/suggestions the page's own call: as /v1/suggestions, authorised by the page's cookie
  GET  /healthz          the process is up
  GET  /readyz           a model is loaded and the online store's statistics are fresh by the
                         data clock (the batch job's staleness rule, scoring.stage.stale_features)

API calls need `Authorization: Bearer <token>` (the token from the environment variable
`serving.token_env`). The page never sees the token: serving it sets an HttpOnly, SameSite=Strict
cookie holding an HMAC of the token, which only this server can make and check (behind a
marketplace's login in production; on the demo anyone who can load the page can use it).
Concurrent requests are priced together (serving/batching.py). A request body over
`serving.max_request_bytes` is refused with 413: before it is read when its Content-Length says
so, as it streams in otherwise (serving/limits.py). Every answered request is logged as one
JSON line (request id, model version, latency) and every suggestion appended to
`serving.log_path` for the audit table.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import os
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from pricesuggest.config import ServingConf
from scoring.stage import stale_features
from serving.access_log import AccessLog
from serving.batching import SuggestionBatcher
from serving.limits import BodyLimit
from serving.suggester import RejectedListing, Suggester, Suggestion, UploadedListing

PAGE = Path(__file__).with_name("seller_page.html")
PAGE_COOKIE = "pricesuggest_page"
API_PATH, PAGE_PATH = "/v1/suggestions", "/page/suggestions"
PRICED_PATHS = (API_PATH, PAGE_PATH)


class ServedLog:
    """Appends one JSON line per served suggestion (a job loads the file into Delta).

    Every worker process of the service appends to the same file: each line goes out in one
    write() on an O_APPEND descriptor, which the kernel places whole at the file's end, so lines
    from different processes never interleave (a line torn by a crash is set aside by the loader)."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict) -> None:
        line = (json.dumps(record, default=str, sort_keys=True) + "\n").encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(descriptor, line)
        finally:
            os.close(descriptor)
        if written != len(line):
            raise OSError(f"{self.path}: wrote {written} of {len(line)} bytes of a served suggestion")


def create_app(suggester: Suggester, token: str, serving: ServingConf, served_log: ServedLog,
               data_clock: Callable[[], date], max_feature_age_days: int) -> FastAPI:
    """The API and the seller's page around one Suggester. `data_clock` gives the pipeline's as-of
    (re-read by the caller)."""
    batcher = SuggestionBatcher(suggester, serving.max_batch, serving.max_batch_wait_ms / 1000)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        batcher.close()

    app = FastAPI(title="pricesuggest", lifespan=lifespan,
                  description="Price suggestions for second-hand listings at upload time")
    app.state.batcher = batcher
    page_key = hmac.new(token.encode(), b"seller-page", hashlib.sha256).hexdigest()
    template = PAGE.read_text()  # filled per request: the lists are the current model's

    app.add_middleware(BodyLimit, max_bytes=serving.max_request_bytes)
    app.add_middleware(AccessLog, batcher=batcher, priced_paths=PRICED_PATHS)  # outside BodyLimit: 413s are logged

    def unauthorised(detail: str) -> HTTPException:
        return HTTPException(401, detail={"reason": "unauthorised", "detail": detail},
                             headers={"WWW-Authenticate": "Bearer"})

    def authorised(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            raise unauthorised("send Authorization: Bearer <token>")

    def from_the_page(request: Request) -> None:
        if not hmac.compare_digest(request.cookies.get(PAGE_COOKIE, "").encode(), page_key.encode()):
            raise unauthorised("load the seller's page first")

    @app.get("/", response_class=HTMLResponse)
    def seller_page() -> HTMLResponse:
        loaded = suggester.models.current
        fields = loaded.inputs.fields if loaded else {}
        options = lambda name: "".join(  # noqa: E731
            f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in fields.get(name, []))
        page = template
        for name, value in {"category_options": options("category"), "brand_options": options("brand"),
                            "condition_options": options("condition"), "currency": html.escape(serving.currency),
                            "max_text_chars": str(suggester.limits.max_text_chars)}.items():
            page = page.replace("{{" + name + "}}", value)
        response = HTMLResponse(page)
        response.set_cookie(PAGE_COOKIE, page_key, httponly=True, samesite="strict")
        return response

    @app.get("/healthz")
    def healthz() -> dict:
        """Up; with this worker's batcher counts (requests / batches = the mean batch the load produced)."""
        return {"status": "ok", "worker_pid": os.getpid(), "priced_requests": batcher.requests,
                "forward_batches": batcher.batches}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        loaded, as_of, features_as_of = suggester.models.current, data_clock(), suggester.features_as_of
        problems = [] if loaded else ["no model loaded"]
        if stale := stale_features(features_as_of, as_of, max_feature_age_days):
            problems.append(stale)
        body = {"ready": not problems, "problems": problems, "model_version": loaded.version if loaded else None,
                "as_of": as_of.isoformat(), "features_as_of": features_as_of.isoformat() if features_as_of else None}
        return JSONResponse(body, status_code=200 if not problems else 503)

    async def suggest(request: Request, photo: Annotated[UploadFile, File()], title: Annotated[str, Form()],
                      category: Annotated[str, Form()], seller_id: Annotated[int, Form()],
                      description: Annotated[str, Form()] = "", brand: Annotated[str | None, Form()] = None,
                      condition: Annotated[str | None, Form()] = None) -> JSONResponse:
        # async: the request waits on the batcher's future in the event loop, not in a thread of
        # the thread pool (a hand-off per request that costs two cores ~1 ms each)
        started = time.perf_counter()
        image = await photo.read()
        upload = UploadedListing(image, title, description, category, seller_id, brand or None, condition or None)
        if suggester.models.current is None:
            raise HTTPException(503, detail={"reason": "not_ready", "detail": "no model loaded yet"})
        outcome = await asyncio.wrap_future(batcher.submit(upload))
        if isinstance(outcome, RejectedListing):
            return JSONResponse({"reason": outcome.reason, "detail": outcome.detail,
                                 "request_id": request.state.request_id}, status_code=422)
        request.state.model_version = outcome.model_version
        served_log.append({"request_id": request.state.request_id,
                           "served_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                           "photo_sha256": hashlib.sha256(image).hexdigest(), "title": title,
                           "description": description, "category": category, "seller_id": seller_id,
                           "brand": upload.brand, "condition": upload.condition,
                           **{k: v for k, v in asdict(outcome).items() if k != "comps"},  # comps stay out of the log
                           "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
        return JSONResponse(response_body(outcome, request.state.request_id))

    app.post(API_PATH, dependencies=[Depends(authorised)])(suggest)
    app.post(PAGE_PATH, dependencies=[Depends(from_the_page)], include_in_schema=False)(suggest)
    return app


def response_body(suggestion: Suggestion, request_id: str) -> dict:
    return {"request_id": request_id, "suggested_price": suggestion.suggested_price,
            "band": {"low": suggestion.price_low, "high": suggestion.price_high},
            "range": {"low": suggestion.range_low, "high": suggestion.range_high, "level": suggestion.range_level},
            "qualified": suggestion.qualified, "score": suggestion.qualification_score,
            "reason": suggestion.not_qualified_reason, "model_version": suggestion.model_version,
            "features_as_of": suggestion.features_as_of.isoformat() if suggestion.features_as_of else None,
            "comps": [c.to_dict() for c in suggestion.comps]}
