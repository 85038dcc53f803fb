"""The suggestion service's HTTP API (FastAPI): a suggestion at upload time.

  POST /v1/suggestions   multipart: photo (file), title, description, category, seller_id,
                         brand and condition optional -> the suggestion, or 422 with the reason
  GET  /healthz          the process is up
  GET  /readyz           a model is loaded and the online store's statistics are fresh by the
                         data clock (the batch job's staleness rule, scoring.stage.stale_features)

API calls need `Authorization: Bearer <token>` (the token from the environment variable
`serving.token_env`). A request whose Content-Length exceeds `serving.max_request_bytes` is
refused with 413 before its body is read (a chunked upload without one is bounded only by the
photo's own byte limit, after multipart parsing spools it to disk). Every answered request is logged as one JSON line (request id, model
version, latency) and every suggestion appended to `serving.log_path` for the audit table.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from scoring.stage import stale_features
from serving.suggester import RejectedListing, Suggester, Suggestion, UploadedListing

log = logging.getLogger("pricesuggest.serving")


class ServedLog:
    """Appends one JSON line per served suggestion (thread-safe; a job loads it into Delta)."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        line = json.dumps(record, default=str, sort_keys=True)
        with self._lock, self.path.open("a") as out:
            out.write(line + "\n")


def create_app(suggester: Suggester, token: str, max_request_bytes: int, served_log: ServedLog,
               data_clock: Callable[[], date], max_feature_age_days: int) -> FastAPI:
    """The API around one Suggester. `data_clock` gives the pipeline's as-of (re-read by the caller)."""
    app = FastAPI(title="pricesuggest", description="Price suggestions for second-hand listings at upload time")

    @app.middleware("http")
    async def bounded_and_logged(request: Request, call_next):
        request.state.request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_request_bytes:
            response = JSONResponse({"reason": "request_too_large",
                                     "detail": f"{int(length):,} bytes (limit {max_request_bytes:,})"}, status_code=413)
        else:
            response = await call_next(request)
        latency_ms = (time.perf_counter() - started) * 1000
        response.headers["x-request-id"] = request.state.request_id
        log.info(json.dumps({"request_id": request.state.request_id, "method": request.method,
                             "path": request.url.path, "status": response.status_code,
                             "model_version": getattr(request.state, "model_version", None),
                             "latency_ms": round(latency_ms, 2)}))
        return response

    def authorised(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, detail={"reason": "unauthorised", "detail": "send Authorization: Bearer <token>"},
                                headers={"WWW-Authenticate": "Bearer"})

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        loaded, as_of, features_as_of = suggester.models.current, data_clock(), suggester.features_as_of
        problems = [] if loaded else ["no model loaded"]
        if stale := stale_features(features_as_of, as_of, max_feature_age_days):
            problems.append(stale)
        body = {"ready": not problems, "problems": problems, "model_version": loaded.version if loaded else None,
                "as_of": as_of.isoformat(), "features_as_of": features_as_of.isoformat() if features_as_of else None}
        return JSONResponse(body, status_code=200 if not problems else 503)

    @app.post("/v1/suggestions", dependencies=[Depends(authorised)])
    def suggest(request: Request, photo: Annotated[UploadFile, File()], title: Annotated[str, Form()],
                category: Annotated[str, Form()], seller_id: Annotated[int, Form()],
                description: Annotated[str, Form()] = "", brand: Annotated[str | None, Form()] = None,
                condition: Annotated[str | None, Form()] = None) -> JSONResponse:
        started = time.perf_counter()
        image = photo.file.read()
        upload = UploadedListing(image, title, description, category, seller_id, brand or None, condition or None)
        if suggester.models.current is None:
            raise HTTPException(503, detail={"reason": "not_ready", "detail": "no model loaded yet"})
        outcome = suggester.suggest([upload])[0]
        if isinstance(outcome, RejectedListing):
            return JSONResponse({"reason": outcome.reason, "detail": outcome.detail,
                                 "request_id": request.state.request_id}, status_code=422)
        request.state.model_version = outcome.model_version
        body = response_body(outcome, request.state.request_id)
        served_log.append({"request_id": request.state.request_id,
                           "served_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                           "photo_sha256": hashlib.sha256(image).hexdigest(), "title": title,
                           "description": description, "category": category, "seller_id": seller_id,
                           "brand": upload.brand, "condition": upload.condition, **asdict(outcome),
                           "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
        return JSONResponse(body)

    return app


def response_body(suggestion: Suggestion, request_id: str) -> dict:
    return {"request_id": request_id, "suggested_price": suggestion.suggested_price,
            "band": {"low": suggestion.price_low, "high": suggestion.price_high},
            "qualified": suggestion.qualified, "score": suggestion.qualification_score,
            "reason": suggestion.not_qualified_reason, "model_version": suggestion.model_version,
            "features_as_of": suggestion.features_as_of.isoformat() if suggestion.features_as_of else None}
