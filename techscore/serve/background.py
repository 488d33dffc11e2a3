"""The service for a moment: a real uvicorn server in a thread on a free loopback port (the demo, the tests).

`running_service(app)` starts it, yields its base URL once it accepts connections, and stops it on leaving
(in-flight requests finish, the app's shutdown closes the audit trail).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

__all__ = ["json_records", "running_service"]


@contextmanager
def running_service(app, *, host: str = "127.0.0.1", timeout: float = 120.0) -> Iterator[str]:
    """Serve `app` on uvicorn at `host` on a port the system picks; yields `http://host:port`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="techscore-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=30)
            raise RuntimeError(f"the scoring service did not start on {host} within {timeout:g} s.")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as `POST /v1/score` takes them: missing values as None, categories as text, numbers as Python's."""
    out = []
    for row in frame.astype(object).to_dict("records"):
        record = {}
        for k, v in row.items():
            v = v.item() if isinstance(v, np.generic) else v
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif not isinstance(v, bool | int | float | str):
                v = str(v)
            record[str(k)] = v
        out.append(record)
    return out
