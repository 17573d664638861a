"""The API app served for real: uvicorn on a free port in a thread, plus event factories."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlmodel import Session

from nocturne.cities import require_city
from nocturne.models import Event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL.

    The job backend is installed as the app module installs it, so routes that enqueue
    (subscribe, scrape) name and run jobs as they do in the app.
    """
    from nocturne import queue
    from workers.main import in_process

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    previous = queue.installed()
    queue.install(in_process)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        queue.install(previous)


def make_event(
    session: Session,
    *,
    city_id: str = "ca--los-angeles",
    title: str = "Warehouse Rave",
    start: datetime | None = None,
    hours: float | None = 4,
    n: int | None = None,
    **fields: Any,
) -> Event:
    """Store one event (committed) with local date/time derived from the city's zone."""
    city = require_city(city_id)
    start = start or datetime.now(UTC) + timedelta(days=1)
    local = start.astimezone(city.tz)
    key = n if n is not None else time.monotonic_ns()
    source = fields.pop("source", "eventbrite")
    link = fields.pop("link", f"https://www.{source}.com/e/{city_id}-{key}")
    values: dict[str, Any] = {
        "title": title,
        "link": link,
        "links": [link],
        "source": source,
        "sources": f",{source},",
        "city_id": city_id,
        "start_at": start,
        "end_at": start + timedelta(hours=hours) if hours else None,
        "timezone": city.timezone,
        "local_date": local.date().isoformat(),
        "local_time": local.strftime("%H:%M"),
        "venue": "The Basement",
        "address": "123 Main St",
        "price_min": 10.0,
        "price_max": 25.0,
        "currency": "USD",
        "is_free": False,
        "description": "Underground electronic music",
    }
    values.update(fields)
    event = Event(**values)
    session.add(event)
    session.commit()
    session.refresh(event)
    return event
