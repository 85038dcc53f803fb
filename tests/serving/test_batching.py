"""The batcher prices what queued while it was busy in one call, waits for requests still arriving
(in flight: never when there are none), and hands a failed batch's error to each of its requests."""
from __future__ import annotations

import threading
import time

import pytest

from serving.batching import SuggestionBatcher
from serving.suggester import UploadedListing

WAIT_S = 10.0  # far longer than any test takes: a test that waited for it would show


class RecordingSuggester:
    """Prices each listing as its seller id; the first call blocks until `release` is set."""

    def __init__(self, fail: bool = False):
        self.batches: list[list[int]] = []
        self.pricing, self.release, self.fail = threading.Event(), threading.Event(), fail

    def suggest(self, listings: list[UploadedListing]) -> list[int]:
        self.pricing.set()
        self.release.wait(WAIT_S)
        self.batches.append([x.seller_id for x in listings])
        if self.fail:
            raise RuntimeError("the online store is down")
        return [x.seller_id for x in listings]


def upload(seller_id: int) -> UploadedListing:
    return UploadedListing(b"", "t", "", "c", seller_id)


def test_requests_queued_while_the_worker_is_busy_are_priced_together_up_to_max_batch():
    suggester = RecordingSuggester()
    batcher = SuggestionBatcher(suggester, max_batch=3)
    first = batcher.submit(upload(0))
    assert suggester.pricing.wait(WAIT_S)
    waiting = [batcher.submit(upload(i)) for i in range(1, 6)]
    suggester.release.set()
    assert [f.result(WAIT_S) for f in [first, *waiting]] == [0, 1, 2, 3, 4, 5]
    assert suggester.batches == [[0], [1, 2, 3], [4, 5]]
    assert (batcher.requests, batcher.batches) == (6, 3)
    batcher.close()


def test_a_lone_request_is_priced_at_once_however_long_the_batch_may_wait():
    suggester = RecordingSuggester()
    suggester.release.set()
    batcher = SuggestionBatcher(suggester, max_batch=32, max_wait_s=WAIT_S)
    started = time.monotonic()
    assert batcher.submit(upload(7)).result(WAIT_S) == 7
    assert time.monotonic() - started < WAIT_S / 2
    batcher.close()


def test_the_batch_waits_for_other_requests_in_flight_and_stops_waiting_when_they_end():
    suggester = RecordingSuggester()
    suggester.release.set()
    batcher = SuggestionBatcher(suggester, max_batch=32, max_wait_s=WAIT_S)
    mine, reading = batcher.request(), batcher.request()  # another request's body is still being read
    first = batcher.submit(upload(1))
    time.sleep(0.2)  # the worker holds the first request for it
    assert not first.done()
    second = batcher.submit(upload(2))
    assert (first.result(WAIT_S), second.result(WAIT_S)) == (1, 2)
    assert suggester.batches == [[1, 2]]
    mine.done(), reading.done()

    mine, refused = batcher.request(), batcher.request()  # e.g. a 401: it never reaches the queue
    started = time.monotonic()
    third = batcher.submit(upload(3))
    time.sleep(0.2)
    refused.done()
    refused.done()  # ending twice counts once
    assert third.result(WAIT_S) == 3 and time.monotonic() - started < WAIT_S / 2
    mine.done()
    assert batcher.in_flight == 0 and suggester.batches == [[1, 2], [3]]
    batcher.close()


def test_a_failed_batch_fails_each_of_its_requests_and_the_worker_goes_on():
    suggester = RecordingSuggester(fail=True)
    batcher = SuggestionBatcher(suggester, max_batch=8)
    first = batcher.submit(upload(0))
    assert suggester.pricing.wait(WAIT_S)
    second = batcher.submit(upload(1))
    suggester.release.set()
    for future in (first, second):
        with pytest.raises(RuntimeError, match="online store is down"):
            future.result(WAIT_S)
    suggester.fail = False
    assert batcher.submit(upload(2)).result(WAIT_S) == 2
    batcher.close()
