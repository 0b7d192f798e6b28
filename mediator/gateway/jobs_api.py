"""The asynchronous gateway's HTTP side: 202 + ``/jobs/{id}`` polling (docs/jobs.md).

- A request to a route in ``mode: async`` (or ``both`` with ``Prefer: respond-async``) is
  validated exactly as the synchronous route would validate it (a bad request is still a
  400 at once), stored as a job, and answered ``202 Accepted`` with ``Location``,
  ``Retry-After`` and the job's JSON.
- ``GET /jobs/{id}``: the job's status, history and, once finished, the JSON (or the
  problem+json) the synchronous route would have answered. 404 for an unknown id (or one
  of another client), 410 once the result expired.
- ``DELETE /jobs/{id}``: cancels a job that has not started (409 when it has).

When the route that created a job requires authentication, the job belongs to that client
(``method:subject`` of its :class:`~mediator.gateway.auth.Identity`): ``/jobs/{id}`` then
authenticates the poller with the gateway's authenticator and answers 404 to anyone else.
Idempotency-Keys are scoped to the client too.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from mediator.errors import ClientError
from mediator.gateway.auth import (
    IDENTITY_KEY,
    AuthError,
    Identity,
    client_context,
    request_context,
)
from mediator.gateway.metrics import (
    record_job_callback,
    record_job_finished,
    record_job_retry,
    set_job_queue_depth,
)
from mediator.gateway.middlewares import exception_problem
from mediator.gateway.problems import problem_response
from mediator.gateway.state import RequestState, request_state
from mediator.jobs.model import Job, JobRequest, JobResult, NewJob, job_view, request_fingerprint
from mediator.jobs.service import JobService
from mediator.jobs.settings import JobSettings
from mediator.jobs.store import JobStoreError
from mediator.log import get_logger
from mediator.mapping.model import Route
from mediator.translate.jsonio import dumps
from mediator.translate.request import render_request
from mediator.upstream.client import SoapClient
from mediator.upstream.transport import HttpTransport, create_session

if TYPE_CHECKING:
    from mediator.gateway.app import GatewayRuntime

__all__ = [
    "IDEMPOTENCY_HEADER",
    "JOBS_KEY",
    "JOB_PROBLEM_TYPES",
    "JobsApi",
    "client_identity",
    "owner_of",
    "prefers_async",
    "render_job_problem",
]

_log = get_logger("mediator.gateway")

IDEMPOTENCY_HEADER = "Idempotency-Key"
CALLBACK_HEADER = "Callback-URL"
JOBS_PATH = "/jobs/"

JOB_PROBLEM_TYPES: dict[str, str] = {
    "job-not-found": "No job has this id (or it belongs to another client).",
    "job-expired": "The job's result was kept for its time to live and has been dropped.",
    "job-not-cancellable": "The job has started or finished; it can no longer be cancelled.",
    "idempotency-key-reused": "The Idempotency-Key was used before for a different request.",
    "job-outcome-unknown": (
        "The gateway stopped while a non-idempotent job ran; whether it took effect is unknown."
    ),
    "job-route-removed": "A reload removed the job's route before the job could run.",
    "jobs-unavailable": "The job store (SQLite or Redis) cannot be reached.",
}
"""Problem types of the asynchronous gateway (documented in the README and docs/jobs.md)."""

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def prefers_async(request: web.Request) -> bool:
    """Whether the request's ``Prefer`` header asks for ``respond-async`` (RFC 7240)."""
    for header in request.headers.getall("Prefer", ()):
        for preference in header.split(","):
            if preference.split(";", 1)[0].strip().lower() == "respond-async":
                return True
    return False


class _PathOnly:
    """What the problem mapper reads of a request: its path (a job has no live request)."""

    __slots__ = ("method", "path")

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path


def render_job_problem(exc: BaseException, route: Route, request_id: str, path: str) -> JobResult:
    """The problem+json the synchronous route answers for ``exc``, for a job's result.

    It goes through the gateway's own exception mapping (the problem middleware's), so a
    job fails with exactly the status and body the synchronous call would have.
    """
    state = RequestState(request_id=request_id, route=route)
    response = exception_problem(exc, _PathOnly(route.method, path), state)  # type: ignore[arg-type]
    body = response.body if isinstance(response.body, bytes) else b"{}"
    return JobResult(
        status=response.status,
        content_type=response.content_type or "application/problem+json",
        body=body,
    )


class _GatewayJobMetrics:
    """Job metrics into the gateway's Prometheus registry (when metrics are on)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def job_finished(self, *, route: str, outcome: str, seconds: float, attempts: int) -> None:
        """A job ended: ``mediator_job_duration_seconds`` by route and outcome."""
        record_job_finished(self._app, route, outcome, seconds)

    def job_retried(self, *, route: str, reason: str) -> None:
        """A job attempt is retried: ``mediator_job_retries``."""
        record_job_retry(self._app, route, reason)

    def queue_depth(self, depth: Mapping[str, int]) -> None:
        """Jobs waiting (queued or retrying) as ``mediator_job_queue_depth``."""
        set_job_queue_depth(self._app, depth.get("queued", 0) + depth.get("retrying", 0))

    def callback_attempted(self, *, outcome: str) -> None:
        """A webhook delivery was attempted: ``mediator_job_callbacks`` by outcome."""
        record_job_callback(self._app, outcome)


def _status_url(job_id: str) -> str:
    return f"{JOBS_PATH}{job_id}"


def owner_of(identity: Identity) -> str:
    """The owner string of jobs created by ``identity``: ``method:subject``."""
    return f"{identity.method}:{identity.subject}"


def client_identity(request: web.Request) -> str | None:
    """The authenticated client of ``request`` (``None`` when it was not authenticated)."""
    identity = request.get(IDENTITY_KEY)
    return owner_of(identity) if identity is not None else None


class JobsApi:
    """Accepts asynchronous requests and serves ``/jobs/{id}``."""

    def __init__(self, settings: JobSettings, runtime: GatewayRuntime) -> None:
        self.settings = settings
        self.service: JobService | None = None
        self._runtime = runtime
        self._app: web.Application | None = None
        self._session: aiohttp.ClientSession | None = None
        self._starting = asyncio.Lock()
        self._routes: tuple[object, dict[str, tuple[Route, SoapClient]]] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: run the job service while the app runs.

        The store is opened (and unfinished jobs recovered) at start-up when any route can
        answer asynchronously, when the store is Redis, or when a SQLite store already exists;
        otherwise on the first asynchronous request, so a gateway without async routes never
        writes a job database.
        """
        self._app = app
        table = self._runtime.table
        wanted = (
            self.settings.store == "redis"
            or (table is not None and any(r.mode != "sync" for r in table.mappings.routes))
            or (
                self.settings.data_dir is not None and (self.settings.data_dir / "jobs.db").exists()
            )
        )
        try:
            if wanted:
                await self._start()
            yield
        finally:
            service, self.service = self.service, None
            if service is not None:
                await service.stop()
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def _start(self) -> JobService:
        async with self._starting:
            if self.service is not None:
                return self.service
            if self._app is None:
                raise _Unavailable()
            self._session = create_session() if self.settings.callback_allow else None
            service = JobService(
                self.settings,
                lookup=self._lookup,
                problems=render_job_problem,
                status_url=_status_url,
                callback_transport=HttpTransport(self._session) if self._session else None,
                metrics=_GatewayJobMetrics(self._app),
            )
            await service.start()
            self.service = service
            return service

    def _lookup(self, key: str) -> tuple[Route, SoapClient] | None:
        """The route with this key in the table served now (reloads included)."""
        table = self._runtime.table
        if table is None:
            return None
        if self._routes is None or self._routes[0] is not table:
            routes = {f"{r.method} {r.path}": (r, table.client) for r in table.mappings.routes}
            self._routes = (table, routes)
        return self._routes[1].get(key)

    def _service(self) -> JobService:
        if self.service is None:
            raise _Unavailable()
        return self.service

    # -- submission ----------------------------------------------------------------------

    def wants_async(self, route: Route, request: web.Request) -> bool:
        """Whether this request to ``route`` is answered with a job."""
        return route.mode == "async" or (route.mode == "both" and prefers_async(request))

    async def submit(
        self,
        request: web.Request,
        route: Route,
        client: SoapClient,
        path_params: dict[str, str],
        body: Any,
    ) -> web.Response:
        """Validate the request as the synchronous route would, store a job, answer 202.

        Raises:
            ClientError: the request is invalid (400), as it would be synchronously.
        """
        state = request_state(request)
        context = request_context(request, route, path_params, body)
        client.build(route, render_request(route, context))
        extra = client_context(request)  # `client`: kept with the job for its run
        query = {
            spec.name: request.query[spec.name]
            for spec in route.params
            if spec.location == "query" and spec.name in request.query
        }
        headers = {name: request.headers[name] for name in route.headers if name in request.headers}
        text = (await request.read()).decode("utf-8") if body is not None else None
        owner = client_identity(request)
        new = NewJob(
            route=f"{route.method} {route.path}",
            route_name=route.name,
            method=request.method,
            path=request.path,
            request=JobRequest(
                path_params=dict(path_params),
                query=query,
                headers=headers,
                body=text,
                request_id=state.request_id,
                extra=extra or {},
            ),
            idempotent=route.idempotent,
            ttl=route.job_ttl or self.settings.ttl,
            owner=owner,
            idempotency_key=self._idempotency_scope(request, owner),
            fingerprint=request_fingerprint(request.method, request.path, query, headers, body),
            callback_url=self._callback_url(request),
        )
        try:
            service = self.service or await self._start()
            result = await service.submit(new)
        except (JobStoreError, _Unavailable) as exc:
            return _unavailable(request, state, exc)
        if result.conflict:
            return problem_response(
                "idempotency-key-reused",
                422,
                "Idempotency Key Reused",
                detail=f"this {IDEMPOTENCY_HEADER} was used for a different request",
                request_id=state.request_id,
                instance=request.path,
                job=_status_url(result.job.id),
            )
        job = result.job
        response_headers = {
            "Location": _status_url(job.id),
            "Retry-After": str(self.settings.retry_after),
            "Cache-Control": "no-store",
        }
        if route.mode == "both":
            response_headers["Preference-Applied"] = "respond-async"
        return web.Response(
            body=dumps(job_view(job, status_url=_status_url(job.id))),
            status=202,
            content_type="application/json",
            headers=response_headers,
        )

    @staticmethod
    def _idempotency_scope(request: web.Request, owner: str | None) -> str | None:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return None
        if not _IDEMPOTENCY_KEY.match(key):
            raise ClientError(f"{IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters")
        return hashlib.sha256(f"{owner or ''}\x00{key}".encode()).hexdigest()

    def _callback_url(self, request: web.Request) -> str | None:
        url = request.headers.get(CALLBACK_HEADER)
        if url is None:
            return None
        if not self.settings.callback_allow:
            raise ClientError(f"this gateway does not send callbacks; remove {CALLBACK_HEADER}")
        if not url.startswith(("http://", "https://")) or not url.startswith(
            self.settings.callback_allow
        ):
            raise ClientError(f"{CALLBACK_HEADER} is not an allowed callback URL")
        return url

    # -- /jobs/{id} ----------------------------------------------------------------------

    async def _visible_job(self, request: web.Request) -> Job | web.Response:
        """The job the path names, or the 404/410/503 problem to answer instead."""
        state = request_state(request)
        job_id = request.match_info["job_id"]
        try:
            # Before the store is opened no job exists: unknown ids are 404 as usual.
            known = self.service is not None and _JOB_ID.match(job_id)
            job = await self._service().get(job_id) if known else None
        except (JobStoreError, _Unavailable) as exc:
            return _unavailable(request, state, exc)
        if job is None or (job.owner is not None and job.owner != await self._poller(request)):
            return problem_response(
                "job-not-found",
                404,
                "Job Not Found",
                detail=f"no job {job_id}",
                request_id=state.request_id,
                instance=request.path,
            )
        if job.expired(time.time()):
            return problem_response(
                "job-expired",
                410,
                "Job Expired",
                detail="the job finished and its result has expired",
                request_id=state.request_id,
                instance=request.path,
            )
        return job

    async def _poller(self, request: web.Request) -> str | None:
        """Who polls: the identity a middleware established, else the credentials the
        request presents, checked by the gateway's authenticator (``None``: anonymous)."""
        known = client_identity(request)
        if known is not None:
            return known
        authenticator = self._runtime.front_door.authenticator
        if authenticator is None:
            return None
        try:
            identity = await authenticator.authenticate(request, authenticator.config.methods)
        except AuthError:
            return None  # no or bad credentials: it cannot see an owned job (404)
        return owner_of(identity)

    def _job_response(self, job: Job) -> web.Response:
        headers = {"Cache-Control": "no-store"}
        if not job.finished:
            headers["Retry-After"] = str(self.settings.retry_after)
        return web.Response(
            body=dumps(job_view(job, status_url=_status_url(job.id))),
            content_type="application/json",
            headers=headers,
        )

    async def get(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}``: the job, with its result once finished."""
        job = await self._visible_job(request)
        return job if isinstance(job, web.Response) else self._job_response(job)

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/{id}``: cancel a job that has not started."""
        found = await self._visible_job(request)
        if isinstance(found, web.Response):
            return found
        state = request_state(request)
        try:
            job = await self._service().cancel(found.id)
        except (JobStoreError, _Unavailable) as exc:
            return _unavailable(request, state, exc)
        if job is None:
            job = found
        if job.status != "cancelled":
            return problem_response(
                "job-not-cancellable",
                409,
                "Job Not Cancellable",
                detail=f"the job is {job.status}; only queued or retrying jobs can be cancelled",
                request_id=state.request_id,
                instance=request.path,
                job_status=job.status,
            )
        return self._job_response(job)


class _Unavailable(Exception):
    """The job service is not running (the app is starting or stopping)."""


def _unavailable(request: web.Request, state: RequestState, exc: Exception) -> web.Response:
    _log.error("jobs.store_failed", operation=request.method, reason=str(exc) or "not started")
    return problem_response(
        "jobs-unavailable",
        503,
        "Jobs Unavailable",
        detail="the job store cannot be reached; try again",
        request_id=state.request_id,
        instance=request.path,
        headers={"Retry-After": "1"},
    )


JOBS_KEY = web.AppKey("jobs", JobsApi)
