"""The encoder in a process of its own, for the long-running worker.

Why: in the worker everything but the model's matrix work is Python (the store and its ORM, the
outbox and SMTP, parsing, the rules), and in one process all of it shares one GIL with the
thread that runs the model. That thread takes the GIL back after every text (one ONNX run per
text, so that a verdict never depends on the batch it came in), and it waited for it behind the
store. With an interpreter of its own the model never waits on the rest of the worker, and its
load at start-up runs beside the worker's own start-up. `run --once` over 3,000 generated
messages on 2 cores: 190.4 against 176.2 msg/s (median of three interleaved runs, the same
acknowledgements); over 10,000, 0.88-0.92 of the classifier's own rate against 0.82 in one
process (README, Benchmark). The cost is a second interpreter: about 55 MB more in all.

The child loads the encoder, embeds one text to warm up, and answers ("ready", dim), or
("error", why) if it cannot. Then each call is a list of texts down a pipe, and the vectors (or
("error", why)) back. Vectors are the in-process encoder's to the bit: the same code runs there.

What can go wrong, and what the caller sees:

* The child cannot load the model, or dies before it is ready: `EncoderUnavailable`, a
  TransientError. The worker retries the batch later from its cursor; nothing is set aside.
* The child dies during a call: it is started again and the call repeated once. If it dies again
  on the same texts, `EncoderCrashed`: the pipeline then classifies the batch message by message,
  so that a text which kills the encoder becomes a dead letter and the rest flow on.
* The child does not answer in time: it is killed and the call fails with `EncoderUnavailable`.
  A hang says nothing about the message, so nothing becomes a dead letter for it.
* The embedding itself raises (a bug, not a crash): `EncoderError`, as the in-process encoder's
  exception would have been.
* The parent dies: the child reads the end of its pipe and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import numpy as np

from inboxbot.errors import TransientError

if TYPE_CHECKING:
    from inboxbot.classify.model import Embedder

log = logging.getLogger(__name__)

START_TIMEOUT = 300.0  # loading the model takes about a second; a swapping machine, far more
CALL_SECONDS = 60.0  # a call's limit: this, plus PER_TEXT_SECONDS for each text
PER_TEXT_SECONDS = 1.0  # a text takes about 5 ms; a hundred times that is no longer slow, but stuck


class EncoderUnavailable(TransientError):
    """The encoder process cannot serve now (not loaded, died while loading, stuck)."""


class EncoderCrashed(RuntimeError):
    """The encoder process died twice on the same texts: one of them is likely what kills it."""


class EncoderError(RuntimeError):
    """The embedding raised inside the encoder process (its message says what)."""


class _ChildLost(Exception):
    pass


def _serve(conn: Connection, load: Callable[[], Embedder]) -> None:
    """The child's whole life: load, say ready, embed what comes until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group, and systemd's stop signal the whole
    # cgroup. The parent decides when this ends (it closes the pipe once its last batch is
    # classified), so the child neither dies under that batch nor leaves a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        encoder = load()
        encoder.embed(["warm up"])  # the first run builds the runtime's kernels
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", int(encoder.dim)))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if texts is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", encoder.embed(texts))
        except Exception as exc:  # noqa: BLE001 - the parent raises it as EncoderError
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class EncoderProcess:
    """An Embedder whose encoder runs in a child process, started at once (it loads while the
    caller goes on) and again whenever it died. `load` builds the encoder in the child, so it
    must pickle: a module-level function, or a functools.partial of one. Thread-safe; calls are
    served one at a time (the model has one core's worth of work either way). `close` ends it."""

    def __init__(self, load: Callable[[], Embedder], *, start_timeout: float = START_TIMEOUT,
                 call_seconds: float = CALL_SECONDS, per_text_seconds: float = PER_TEXT_SECONDS) -> None:
        self._load = load
        self._start_timeout = start_timeout
        self._call_seconds = call_seconds
        self._per_text_seconds = per_text_seconds
        self._lock = threading.Lock()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._dim: int | None = None
        self._ready = False
        self.starts = 0  # how many children were started (for tests and logs)
        with self._lock:
            self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id, None between a death and the next call."""
        return self._proc.pid if self._proc is not None else None

    @property
    def dim(self) -> int:
        with self._lock:
            self._ensure_ready()
            assert self._dim is not None
            return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        batch = list(texts)
        with self._lock:
            for attempt in (1, 2):
                self._ensure_ready()
                try:
                    self._send(batch)
                    status, value = self._receive(self._call_seconds + self._per_text_seconds * len(batch))
                except TimeoutError:
                    self._stop()
                    raise EncoderUnavailable("the encoder process did not answer in time; it was stopped and "
                                             "will be started again", retry_after=10.0) from None
                except _ChildLost as lost:
                    self._stop()
                    if attempt == 2:
                        raise EncoderCrashed(f"the encoder process died twice on the same {len(batch)} "
                                             f"text(s) ({lost})") from None
                    log.warning("the encoder process died (%s); starting it again", lost)
                    continue
                if status == "ok":
                    return np.asarray(value, dtype=np.float32)
                raise EncoderError(str(value))
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._stop(polite=True)

    # -- the child ---------------------------------------------------------------------------

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        ours, theirs = context.Pipe()
        proc = context.Process(target=_serve, args=(theirs, self._load), name="inboxbot-encoder", daemon=True)
        proc.start()
        theirs.close()  # so that the child's death reads as the end of our pipe
        self._proc, self._conn, self._ready = proc, ours, False
        self.starts += 1

    def _ensure_ready(self) -> None:
        if self._proc is None:
            self._start()
        if self._ready:
            return
        try:
            status, value = self._receive(self._start_timeout)
        except (_ChildLost, TimeoutError) as why:
            self._stop()
            raise EncoderUnavailable(f"the encoder process did not start: {why or 'no answer'}") from None
        if status != "ready":
            self._stop()
            raise EncoderUnavailable(f"the encoder process could not load the model: {value}", retry_after=60.0)
        self._dim, self._ready = int(value), True
        log.info("encoder process %s ready", self.pid)

    def _send(self, texts: list[str]) -> None:
        assert self._conn is not None
        try:
            self._conn.send(texts)
        except OSError:  # a child that died since the last call: its end of the pipe is closed
            raise self._lost() from None

    def _receive(self, timeout: float) -> tuple[str, Any]:
        assert self._conn is not None
        if not self._conn.poll(timeout):
            raise TimeoutError
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            raise self._lost() from None
        return str(status), value

    def _lost(self) -> _ChildLost:
        """The child is gone: wait for its exit, and say how it ended."""
        assert self._proc is not None
        self._proc.join(5)
        return _ChildLost(f"exit code {self._proc.exitcode}")

    def _stop(self, *, polite: bool = False) -> None:
        conn, proc = self._conn, self._proc
        self._conn, self._proc, self._ready = None, None, False
        if conn is not None:
            if polite:
                try:
                    conn.send(None)
                except OSError:
                    pass  # it is gone already
            conn.close()
        if proc is not None:
            proc.join(5 if polite else 0.5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
