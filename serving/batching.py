"""Concurrent requests share one forward pass (and one online-store read).

Request threads hand their upload to one worker thread and wait for its answer. The worker
takes whatever has queued up while it was busy, up to `max_batch`, and prices it in one
`Suggester.suggest` call. A lone request is priced at once (no waiting for company), so
batching adds no latency at concurrency 1; under load the batch grows by itself, which is what
lets two cores keep up: the per-call costs (Feast's online read, the model's Python overhead)
are paid once per batch, not once per request.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from serving.suggester import RejectedListing, Suggester, Suggestion, UploadedListing

log = logging.getLogger("pricesuggest.serving")


class SuggestionBatcher:
    def __init__(self, suggester: Suggester, max_batch: int):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.suggester, self.max_batch = suggester, max_batch
        self._queue: queue.SimpleQueue[tuple[UploadedListing, Future] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="suggestion-batcher", daemon=True)
        self._worker.start()
        self.batches = 0  # for the benchmark's breakdown: requests / batches = mean batch size
        self.requests = 0

    def suggest(self, listing: UploadedListing, timeout: float | None = None) -> Suggestion | RejectedListing:
        """This listing's outcome, priced together with whatever else is waiting."""
        answer: Future = Future()
        self._queue.put((listing, answer))
        return answer.result(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # close() while busy: finish this batch, then stop
                    self._queue.put(None)
                    break
                batch.append(item)
            self._price(batch)

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
