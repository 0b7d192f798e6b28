"""Runs composed routes: several SOAP calls, concurrent where independent, one JSON answer.

A :class:`StepRunner` starts every step of a route at once as an asyncio task; a step with
``needs`` first waits for the steps it needs. A fan-out step (``for_each``) runs its calls
through ``concurrency`` workers. Deadlines nest: the route's ``timeout`` bounds everything,
a step's ``timeout`` bounds all its calls, and each call gets what is left (never more than
its own service allows).

Failures follow the step's declaration:

* a **required** step that fails cancels every other step at once, and the client gets the
  problem+json of its error, with ``step`` naming it;
* an **optional** step that fails yields ``null``, and the answer carries an ``errors`` entry
  naming the step and why (steps that need it are skipped, and listed too).

Errors are rendered by the gateway's problem middleware, with the step's own ``errors``
rules (then the route's) choosing a fault's status, so a step's error looks exactly like
the same error of a plain route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiohttp import web

from mediator.errors import MediatorError, UpstreamTimeout
from mediator.gateway.auth import request_context
from mediator.gateway.handler import RouteHandler, read_json_body
from mediator.gateway.middlewares import problem_middleware
from mediator.gateway.observe import WATCH_KEY
from mediator.gateway.state import RequestState, request_state
from mediator.gateway.traces import (
    STEPS_KEY,
    explain_extraction,
    redact_headers,
    redact_json,
    redact_xml,
)
from mediator.log import get_logger
from mediator.mapping.model import Route, Step
from mediator.translate.compose import compose_response, fan_out_items, step_context
from mediator.translate.envelope import read_envelope
from mediator.translate.jsonio import dumps
from mediator.translate.request import render_request
from mediator.translate.response import extract_response
from mediator.upstream.client import SoapCall, SoapClient, WireLog

__all__ = [
    "CallTrace",
    "ComposedRouteHandler",
    "Send",
    "StepFailedError",
    "StepFailure",
    "StepRunner",
    "StepTrace",
]

_log = get_logger("mediator.gateway")

Send = Callable[[Route, bytes, WireLog], Awaitable[SoapCall]]
"""Sends one built envelope of a step's call (``SoapClient.call``, possibly observed)."""


@dataclass(slots=True, kw_only=True)
class CallTrace:
    """One SOAP call of a step: when it ran (seconds since the route started) and the wire."""

    item: int | None
    """The fan-out item's index; ``None`` for a step without ``for_each``."""
    started: float
    finished: float | None = None
    wire: WireLog = field(default_factory=WireLog)
    error: str | None = None


@dataclass(slots=True)
class StepTrace:
    """What happened to one step: ``pending``, ``running``, ``ok``, ``failed``, ``skipped``
    (a step it needs failed) or ``cancelled`` (a required step failed)."""

    step: Step
    status: str = "pending"
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    items: int | None = None
    calls: list[CallTrace] = field(default_factory=list)
    result: Any = None


@dataclass(slots=True)
class StepFailure:
    """An optional step that failed (``error``) or was skipped (``needs`` failed)."""

    step: Step
    error: BaseException | None
    needs: str | None = None


class StepFailedError(MediatorError):
    """A required step failed; the route fails with ``cause``'s problem, naming ``step``."""

    def __init__(self, step: Step, cause: BaseException) -> None:
        super().__init__(f"step {step.name!r} failed: {type(cause).__name__}: {cause}")
        self.step = step
        self.cause = cause


class StepRunner:
    """Runs the steps of one request of a composed route.

    Args:
        route: the composed route.
        context: the request's template variables (``path``, ``query``, ``body``…).
        client: builds each call's envelope, and sends it unless ``send`` is given.
        send: sends one envelope (the gateway passes an observed ``client.call``).
        request_id: sent upstream with every call.
    """

    def __init__(
        self,
        route: Route,
        context: Mapping[str, Any],
        client: SoapClient,
        *,
        send: Send | None = None,
        request_id: str | None = None,
    ) -> None:
        self.route = route
        self.context = context
        self._client = client
        self._send = send or self._plain_send
        self._request_id = request_id
        self.results: dict[str, Any] = {}
        """Each successful step's result (a list, in item order, for a fan-out step)."""
        self.failures: list[StepFailure] = []
        """Optional steps that failed or were skipped, in the order it happened."""
        self.traces = {step.name: StepTrace(step) for step in route.steps}
        self._fatal: list[StepFailedError] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = 0.0
        self._deadline = 0.0

    async def _plain_send(self, route: Route, envelope: bytes, wire: WireLog) -> SoapCall:
        return await self._client.call(route, envelope, request_id=self._request_id, wire=wire)

    def _now(self) -> float:
        return time.perf_counter() - self._started

    async def run(self) -> dict[str, Any]:
        """Run every step; return the results by step name.

        Raises:
            StepFailedError: the first required step that failed (the others are cancelled).
        """
        self._started = time.perf_counter()
        self._deadline = asyncio.get_running_loop().time() + self.route.call_timeout
        try:
            async with asyncio.TaskGroup() as group:
                for step in self.route.steps:  # dependencies first
                    self._tasks[step.name] = group.create_task(
                        self._step(step), name=f"step {step.name}"
                    )
        except BaseExceptionGroup as errors:
            _, rest = errors.split(StepFailedError)
            if rest is not None or not self._fatal:
                raise
            for trace in self.traces.values():
                if trace.status in ("pending", "running"):
                    trace.status = "cancelled"
            raise self._fatal[0] from None
        return self.results

    async def _step(self, step: Step) -> None:
        trace = self.traces[step.name]
        if step.needs:
            await asyncio.wait([self._tasks[name] for name in step.needs])
            failed = next((name for name in step.needs if name not in self.results), None)
            if failed is not None:  # an optional step it needs failed: skip this one too
                trace.status = "skipped"
                self.failures.append(StepFailure(step, None, failed))
                return
        trace.status, trace.started = "running", self._now()
        try:
            trace.result = self.results[step.name] = await self._execute(step, trace)
        except asyncio.CancelledError:
            trace.status = "cancelled"
            raise
        except Exception as exc:
            trace.status, trace.error = "failed", f"{type(exc).__name__}: {exc}"
            _log.info(
                "gateway.step_failed",
                step=step.name,
                operation=step.call.operation.name,
                optional=step.optional,
                error=type(exc).__name__,
            )
            if step.optional:
                self.failures.append(StepFailure(step, exc))
                return
            failure = StepFailedError(step, exc)
            self._fatal.append(failure)
            raise failure from exc
        finally:
            trace.finished = self._now()
        trace.status = "ok"

    async def _execute(self, step: Step, trace: StepTrace) -> Any:
        loop = asyncio.get_running_loop()
        deadline = min(self._deadline, loop.time() + step.call.call_timeout)
        context = step_context(self.context, step, self.results)
        if step.for_each is None:
            return await self._call(step, context, deadline, trace, None)
        items = fan_out_items(step, context)
        trace.items = len(items)
        results: list[Any] = [None] * len(items)
        pending = iter(enumerate(items))
        first_error: list[BaseException] = []

        async def worker() -> None:
            for index, item in pending:  # shared: each item is taken by one worker
                item_context = step_context(self.context, step, self.results, item)
                try:
                    results[index] = await self._call(step, item_context, deadline, trace, index)
                except Exception as exc:
                    first_error.append(exc)
                    raise

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(step.concurrency, len(items))):
                    group.create_task(worker())
        except BaseExceptionGroup:
            if first_error:
                raise first_error[0] from None
            raise
        return results

    async def _call(
        self,
        step: Step,
        context: dict[str, Any],
        deadline: float,
        trace: StepTrace,
        index: int | None,
    ) -> Any:
        call_trace = CallTrace(item=index, started=self._now())
        trace.calls.append(call_trace)
        route = step.call
        try:
            envelope = self._client.build(route, render_request(route, context))
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise UpstreamTimeout(
                    f"step {step.name!r} had no time left for its call",
                    upstream=route.upstream.address,
                    sent=False,
                )
            if remaining < route.call_timeout:
                route = replace(route, timeout=remaining)
            call = await self._send(route, envelope, call_trace.wire)
            return extract_response(step.call.response, call.envelope.body)
        except Exception as exc:
            call_trace.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            call_trace.finished = self._now()


class ComposedRouteHandler(RouteHandler):
    """Serves a composed route: runs its steps and joins their results into one answer."""

    __slots__ = ()

    async def handle(self, request: web.Request, path_params: dict[str, str]) -> web.Response:
        """Run the route's steps for one request; answer with the joined result, or with the
        problem of the required step that failed."""
        route = self.route
        state = request_state(request)
        state.route = route
        watch = request.get(WATCH_KEY)
        body = await read_json_body(request, timeout=self._body_timeout)
        state.json_request = body
        context = request_context(request, route, path_params, body)
        send: Send | None = None
        if watch is not None:
            client, observed = self._client, watch

            async def send(target: Route, envelope: bytes, wire: WireLog) -> SoapCall:
                call: SoapCall = await observed.call_upstream(client, target, envelope, wire)
                return call

        runner = StepRunner(route, context, self._client, send=send, request_id=state.request_id)
        started = time.perf_counter()
        try:
            results = await runner.run()
        except StepFailedError as failure:
            response = await _problem(request, state, failure.step, failure.cause)
            return _with_step(response, failure.step)
        finally:
            state.timings["upstream"] = time.perf_counter() - started
            if watch is not None and watch.obs.traces is not None:
                request[STEPS_KEY] = [_explain(trace) for trace in runner.traces.values()]
        transform_started = time.perf_counter()
        errors = [await _error_entry(request, state, failure) for failure in runner.failures]
        payload = dumps(compose_response(route, context, results, errors))
        state.timings["transform"] = time.perf_counter() - transform_started
        return web.Response(
            body=payload, status=route.response.status, content_type="application/json"
        )


async def _problem(
    request: web.Request, state: RequestState, step: Step, error: BaseException
) -> web.Response:
    """The problem response the gateway gives for ``error`` as if ``step`` were the route
    (its fault rules, its idempotency), rendered by the problem middleware itself."""

    async def fail(_: web.Request) -> web.StreamResponse:
        raise error

    route = state.route
    state.route = step.call
    try:
        response = await problem_middleware(request, fail)
    finally:
        state.route = route
    assert isinstance(response, web.Response)
    return response


def _problem_body(response: web.Response) -> dict[str, Any]:
    body = response.body
    data = orjson.loads(body if isinstance(body, bytes) else b"{}")
    return data if isinstance(data, dict) else {}


def _with_step(response: web.Response, step: Step) -> web.Response:
    """``response`` (a problem) with ``step`` naming the step and the detail saying so."""
    problem = _problem_body(response)
    problem["detail"] = f"step {step.name!r} failed: {problem.get('detail') or problem['title']}"
    problem["step"] = step.name
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return web.Response(body=dumps(problem), status=response.status, headers=headers)


async def _error_entry(
    request: web.Request, state: RequestState, failure: StepFailure
) -> dict[str, Any]:
    """The ``errors`` entry of an optional step that failed or was skipped."""
    step = failure.step
    if failure.error is None:
        return {
            "step": step.name,
            "title": "Step Skipped",
            "detail": f"not run: it needs step {failure.needs!r}, which failed",
        }
    problem = _problem_body(await _problem(request, state, step, failure.error))
    entry: dict[str, Any] = {"step": step.name}
    entry.update(
        (k, problem[k]) for k in ("type", "title", "status", "detail", "fault") if k in problem
    )
    return entry


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _explain(trace: StepTrace) -> dict[str, Any]:
    """One step as the explain trace shows it: status, timing (ms since the route started),
    and each call's envelope, answer and XPath matches, redacted like the rest."""
    step = trace.step
    calls = []
    for call in trace.calls:
        wire = call.wire
        entry: dict[str, Any] = {
            "item": call.item,
            "started_ms": _ms(call.started),
            "finished_ms": _ms(call.finished),
            "error": call.error,
            "url": wire.url,
            "attempts": wire.attempts,
            "request_headers": redact_headers(wire.request_headers or {}),
            "envelope": redact_xml(wire.request_body),
            "status": wire.response_status,
            "response": redact_xml(wire.response_body),
            "extraction": None,
        }
        if wire.response_body and call.error is None:
            try:
                envelope = read_envelope(
                    wire.response_body, expected_version=step.call.upstream.soap_version
                )
                entry["extraction"] = explain_extraction(step.call.response, envelope.body)
            except MediatorError:
                pass
        calls.append(entry)
    return {
        "step": step.name,
        "service": step.call.upstream.service,
        "operation": step.call.operation.name,
        "needs": list(step.needs),
        "optional": step.optional,
        "for_each": step.for_each_source or None,
        "status": trace.status,
        "started_ms": _ms(trace.started),
        "finished_ms": _ms(trace.finished),
        "error": trace.error,
        "calls": calls,
        "result": redact_json(trace.result),
    }
