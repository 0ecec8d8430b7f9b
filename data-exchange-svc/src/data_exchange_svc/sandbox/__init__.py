"""Sandbox provider systems for dev and tests (``uvicorn --factory data_exchange_svc.sandbox:create_app``)."""

from data_exchange_svc.sandbox.app import SandboxSettings, create_app

__all__ = ["SandboxSettings", "create_app"]
