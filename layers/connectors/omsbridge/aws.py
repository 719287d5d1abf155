"""boto3 clients, created on first use and kept for the container's life.

boto3 costs ~0.5 s to import, so nothing imports it at module level: the webhook path never pays.
"""

from __future__ import annotations

import functools
from typing import Any

from omsbridge import config


@functools.cache
def client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


@functools.cache
def table(name: str) -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(name)


config.on_new_connections(client.cache_clear)
config.on_new_connections(table.cache_clear)
