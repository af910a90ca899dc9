"""uvicorn's HTTP/1.1 protocol with a deadline for reading each request.

Why: uvicorn's only timer is the keep-alive timeout, armed after a response and cancelled
by the first byte of the next request; a client that sends half a request line or half a
body and then waits (slowloris) holds its connection, and the worker's memory, forever
(issue 14). Here a client has ``read_timeout_s`` from connecting (or from the end of the
previous response) to finish sending its whole request, head and body; otherwise the
connection is closed and the endpoint waiting on the body sees a disconnect. The time the
service then spends answering is not counted (that is the per-request time budget,
advisor.service.guards.TimeBudget).

A subclass of uvicorn's documented protocol class, passed to uvicorn as ``http=``;
nothing of uvicorn is patched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from advisor.settings import service_read_timeout_s


class DeadlineH11Protocol(H11Protocol):
    """H11Protocol that closes a connection whose request is not received in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's signature
        super().__init__(*args, **kwargs)
        self.read_timeout_s = service_read_timeout_s()
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._cancel_read_deadline()  # the whole request is in: the service's turn

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_read_deadline()  # the next request on this connection gets its own

    def _arm_read_deadline(self) -> None:
        self._cancel_read_deadline()
        if self.read_timeout_s > 0:
            self._read_deadline = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            return  # the request is complete and being answered
        self.logger.info("closing a connection whose request was not received within %g s", self.read_timeout_s)
        self.transport.close()
