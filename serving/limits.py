"""A bound on every request's body, declared or not (ASGI middleware).

A request whose Content-Length is over the limit is answered 413 before its body is read. A
request without one (a chunked upload) is counted as it streams in: past the limit, reading
stops and the answer is the same 413, whatever the app made of its truncated body (FastAPI turns
the error into a 400 "error parsing the body", which this replaces).
"""
from __future__ import annotations

import json


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self.refuse(send, f"{int(declared):,} bytes")
        received, exceeded, refused = 0, False, False

        async def counted():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def replaced(message):
            nonlocal refused
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start" and not refused:  # the app's answer to a cut-off body
                refused = True
                await self.refuse(send, f"over {self.max_bytes:,} bytes streamed")

        try:
            await self.app(scope, counted, replaced)
        except BodyTooLarge:
            if not refused:
                await self.refuse(send, f"over {self.max_bytes:,} bytes streamed")

    async def refuse(self, send, detail: str) -> None:
        body = json.dumps({"reason": "request_too_large",
                           "detail": f"{detail} (limit {self.max_bytes:,})"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
