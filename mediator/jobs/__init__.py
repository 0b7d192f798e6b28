"""The asynchronous gateway: jobs, their stores (SQLite, Redis), workers and webhooks.

A route in ``mode: async`` (or ``both``, when the client sends ``Prefer: respond-async``)
answers 202 with a job; a worker later runs the route's translation exactly as the
synchronous route would and stores its answer. See ``docs/jobs.md``.

This package may import ``translate``, ``upstream`` and ``mapping``, never ``gateway``.
"""

__all__: list[str] = []
