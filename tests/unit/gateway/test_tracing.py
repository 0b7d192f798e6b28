"""OpenTelemetry is optional: the gateway imports and serves without it, and the tracer
provider follows the standard OTEL_* variables. Checked in fresh interpreters, since a
process has one global tracer provider."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO

BLOCK_OTEL = textwrap.dedent(
    """
    import importlib.abc, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None
    sys.meta_path.insert(0, _Block())
    """
)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=REPO,
    )


def test_gateway_works_without_opentelemetry() -> None:
    """With OpenTelemetry absent the gateway modules import, tracing reports unavailable,
    and an app with tracing off is built without touching it."""
    code = BLOCK_OTEL + textwrap.dedent(
        """
        from mediator.gateway.app import create_app
        from mediator.gateway.tracing import RequestTracer, otel_available
        from mediator.mapping.loader import load_mappings
        from mediator.upstream.wsdl import WsdlRegistry
        from tests.conftest import MAPPINGS_DIR, WSDL_DIR
        print("available", otel_available())
        registry = WsdlRegistry()
        mappings = load_mappings([MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
        create_app(mappings, registry=registry)
        try:
            RequestTracer()
        except ModuleNotFoundError:
            print("tracer", "refused")
        print("loaded", any(m.startswith("opentelemetry") for m in sys.modules))
        """
    )
    assert _run(code).stdout.split() == [
        "available",
        "False",
        "tracer",
        "refused",
        "loaded",
        "False",
    ]


def test_console_exporter_prints_spans() -> None:
    """OTEL_TRACES_EXPORTER=console prints finished spans; OTEL_SERVICE_NAME names the
    service."""
    pytest.importorskip("opentelemetry.sdk")
    code = textwrap.dedent(
        """
        from mediator.gateway.tracing import configure_tracer_provider
        provider = configure_tracer_provider()
        with provider.get_tracer("t").start_as_current_span("hello-span"):
            pass
        provider.shutdown()
        """
    )
    out = _run(code, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="edge-gw").stdout
    assert '"name": "hello-span"' in out
    assert '"service.name": "edge-gw"' in out


def test_missing_otlp_exporter_is_a_warning() -> None:
    """The default OTLP exporter, when its package is missing, is reported (spans are still
    made, so traceparent propagation keeps working)."""
    pytest.importorskip("opentelemetry.sdk")
    try:
        installed = importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is not None
    except ModuleNotFoundError:
        installed = False
    if installed:
        pytest.skip("the OTLP exporter is installed here")
    code = "from mediator.gateway.tracing import configure_tracer_provider\nconfigure_tracer_provider()"
    result = _run(code, OTEL_TRACES_EXPORTER="otlp")
    assert "tracing.exporter_missing" in result.stdout
