"""Real processes for tests: wait for a line they print (an event, not a sleep), and `calltracker serve`."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parent.parent


def wait_for_line(stream: IO[bytes], marker: bytes, timeout: float, copy_to: IO[bytes] | None = None) -> bool:
    """Read `stream` until a line holding `marker` arrives (True), or it ends or `timeout` passes (False).

    Everything read is copied to `copy_to` when given. The wait blocks on the pipe itself, never on a timer."""
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                return False
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return False
            if copy_to is not None:
                copy_to.write(chunk)
                copy_to.flush()
            buffer += chunk
            if marker in buffer:
                return True
            buffer = buffer[-len(marker):]
    return False


@contextmanager
def serving(config: Path, log_path: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`calltracker serve` in a real process, yielded once its socket listens.

    `serve` binds and listens before it prints "serving on", so a request made after that line is queued by the
    kernel until uvicorn takes it. Its output goes to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "calltracker", "--config", str(config), "serve", *options],
                                   cwd=ROOT, stdout=log, stderr=subprocess.PIPE)
        assert process.stderr is not None
        drain = threading.Thread(target=shutil.copyfileobj, args=(process.stderr, log), daemon=True)
        try:
            if not wait_for_line(process.stderr, b"serving on", 30, copy_to=log):
                pytest.fail("the server did not start: " + log_path.read_text(errors="replace"))
            drain.start()  # keep draining its stderr (access log lines): the server never blocks on a full pipe
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)
            if drain.is_alive():
                drain.join(timeout=10)  # the pipe ends with the process
            process.stderr.close()
