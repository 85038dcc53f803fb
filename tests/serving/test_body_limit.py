"""Every request body is bounded: declared (Content-Length) or streamed (chunked)."""
from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, UploadFile
from fastapi.testclient import TestClient

from serving.limits import BodyLimit

LIMIT = 1_000


def client() -> TestClient:
    app = FastAPI()
    app.add_middleware(BodyLimit, max_bytes=LIMIT)

    @app.post("/upload")
    def upload(photo: Annotated[UploadFile, File()]) -> dict:
        return {"bytes": len(photo.file.read())}

    return TestClient(app)


def test_a_body_under_the_limit_goes_through():
    response = client().post("/upload", files={"photo": ("p.png", b"x" * 100, "image/png")})
    assert response.status_code == 200 and response.json() == {"bytes": 100}


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read():
    response = client().post("/upload", files={"photo": ("p.png", b"x" * 5_000, "image/png")})
    assert response.status_code == 413 and response.json()["reason"] == "request_too_large"


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit():
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + b"x" * 5_000 + f"\r\n--{boundary}--\r\n".encode()
    chunks = (body[i:i + 512] for i in range(0, len(body), 512))  # a generator: sent chunked, no Content-Length
    response = client().post("/upload", content=chunks,
                             headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413 and "streamed" in response.json()["detail"]
