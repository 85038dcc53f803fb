"""Concurrent requests share one forward pass (and one online-store read).

Requests hand their upload to one worker thread (`submit`) and await its answer. The worker
takes whatever has queued up while it was busy, up to `max_batch`, and prices it in one
`Suggester.suggest` call. The per-call costs (Feast's online read, the model's Python overhead)
are then paid once per batch, not once per request, which is what lets two cores keep up.

How long to wait for company: never, when this request is the only one in the server (a lone
request is priced at once). When other requests are in flight (counted from the moment the
server has their headers until their response is sent: `InFlight`), they are about to queue:
a request being read, or the client of a just-answered one about to send its next. The batch
waits for them, up to `max_wait_s`. Without that wait, at a steady concurrency the worker fell
into pricing small half-batches in turn (measured at concurrency 8 on two workers: 2 requests
per pass), each paying the per-call costs again.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future

from serving.suggester import Suggester, UploadedListing

log = logging.getLogger("pricesuggest.serving")
POLL_S = 0.0005  # while waiting for requests in flight: how often to look whether they are done


class InFlight:
    """One suggestion request the server holds, counted in `SuggestionBatcher.in_flight` from
    its headers until `done()` (its response is sent, or it ended without one)."""

    def __init__(self, batcher: SuggestionBatcher):
        self._batcher, self._done = batcher, False
        batcher._count_in_flight(+1)

    def done(self) -> None:
        if not self._done:
            self._done = True
            self._batcher._count_in_flight(-1)


class SuggestionBatcher:
    def __init__(self, suggester: Suggester, max_batch: int, max_wait_s: float = 0.0):
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_s >= 0")
        self.suggester, self.max_batch, self.max_wait_s = suggester, max_batch, max_wait_s
        self._queue: queue.SimpleQueue[tuple[UploadedListing, Future] | None] = queue.SimpleQueue()
        self._in_flight_lock = threading.Lock()
        self.in_flight = 0
        self._worker = threading.Thread(target=self._run, name="suggestion-batcher", daemon=True)
        self._worker.start()
        self.batches = 0  # for the benchmark's breakdown: requests / batches = mean batch size
        self.requests = 0

    def request(self) -> InFlight:
        """Count a suggestion request the server has started to read (see InFlight)."""
        return InFlight(self)

    def _count_in_flight(self, step: int) -> None:
        with self._in_flight_lock:
            self.in_flight += step

    def submit(self, listing: UploadedListing) -> Future:
        """A future of this listing's outcome (Suggestion or RejectedListing), priced together with
        whatever else is waiting."""
        answer: Future = Future()
        self._queue.put((listing, answer))
        return answer

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, closing = self._gather(first)
            self._price(batch)
            if closing:
                return

    def _gather(self, first) -> tuple[list, bool]:
        """`first` and what joins it: everything queued, and the other requests in flight, for
        max_wait_s at most. -> (batch, whether close() was called meanwhile)."""
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                if self.in_flight <= len(batch) or time.monotonic() >= deadline:
                    break
                try:
                    item = self._queue.get(timeout=POLL_S)
                except queue.Empty:
                    continue
            if item is None:  # close() while gathering: price this batch, then stop
                return batch, True
            batch.append(item)
        return batch, False

    def _price(self, batch: list[tuple[UploadedListing, Future]]) -> None:
        self.batches, self.requests = self.batches + 1, self.requests + len(batch)
        try:
            outcomes = self.suggester.suggest([listing for listing, _ in batch])
        except Exception as error:  # noqa: BLE001 - every waiting request gets the error, the worker lives on
            log.exception("pricing a batch of %d failed", len(batch))
            for _, answer in batch:
                answer.set_exception(error)
            return
        for (_, answer), outcome in zip(batch, outcomes):
            answer.set_result(outcome)
