"""The worker's encoder in a process of its own (inboxbot.classify.encoder_process): the same
vectors as in-process, and every way the child can fail ends as the module docstring promises:
restarted and repeated, a dead letter only when the same texts kill it twice, and a transient
error (the batch waits, nothing set aside) when it cannot load or hangs."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from inboxbot.classify.encoder_process import (
    EncoderCrashed,
    EncoderError,
    EncoderProcess,
    EncoderUnavailable,
)
from inboxbot.errors import TransientError
from rig import make_message
from tests.encoder_fakes import load_dying, load_missing, load_tripped, vector
from tests.ops_config import write_maildir_config

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("INBOXBOT_ENCODER_DIR", ROOT / ".models" / "e5-small"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped) still answers signal 0.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture
def tripped(tmp_path: Path) -> Iterator[EncoderProcess]:
    encoder = EncoderProcess(functools.partial(load_tripped, tmp_path / "once"), call_seconds=2.0,
                             per_text_seconds=0.0)
    yield encoder
    encoder.close()


def expected(texts: Sequence[str]) -> np.ndarray:
    return np.stack([vector(t) for t in texts])


def test_vectors_come_back_in_order_from_one_child(tripped: EncoderProcess) -> None:
    texts = ["radera mina uppgifter", "unsubscribe", "Auskunft nach Art. 15"]
    assert tripped.dim == 4
    assert np.array_equal(tripped.embed(texts), expected(texts))
    assert np.array_equal(tripped.embed(texts[:1]), expected(texts[:1]))
    assert tripped.starts == 1


def test_a_child_killed_between_calls_is_started_again(tripped: EncoderProcess) -> None:
    tripped.embed(["one"])
    pid = tripped.pid
    assert pid is not None
    os.kill(pid, 9)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # dead before the next call: its end of the pipe is closed when we write
    assert np.array_equal(tripped.embed(["two"]), expected(["two"]))
    assert tripped.starts == 2 and tripped.pid != pid


def test_a_death_during_a_call_is_repeated_once_in_a_new_child(tripped: EncoderProcess, tmp_path: Path) -> None:
    (tmp_path / "once").touch()
    texts = ["CRASH_ONCE", "fine"]
    assert np.array_equal(tripped.embed(texts), expected(texts))
    assert tripped.starts == 2 and not (tmp_path / "once").exists()


def test_texts_that_kill_it_twice_raise_crashed_and_the_next_call_works(tripped: EncoderProcess) -> None:
    with pytest.raises(EncoderCrashed, match="died twice on the same 2 text"):
        tripped.embed(["fine", "CRASH"])
    assert tripped.starts == 2
    assert np.array_equal(tripped.embed(["fine"]), expected(["fine"]))
    assert tripped.starts == 3


def test_an_exception_in_the_encoder_is_raised_and_the_child_lives_on(tripped: EncoderProcess) -> None:
    tripped.embed(["warm"])
    pid = tripped.pid
    with pytest.raises(EncoderError, match="ValueError: the encoder tripped over RAISE"):
        tripped.embed(["RAISE"])
    assert tripped.pid == pid and tripped.starts == 1
    assert np.array_equal(tripped.embed(["after"]), expected(["after"]))


def test_a_hung_child_is_killed_and_the_call_is_transient(tripped: EncoderProcess) -> None:
    tripped.embed(["warm"])
    pid = tripped.pid
    assert pid is not None
    started = time.monotonic()
    with pytest.raises(EncoderUnavailable, match="did not answer in time") as caught:
        tripped.embed(["HANG"])
    assert isinstance(caught.value, TransientError)
    assert time.monotonic() - started < 10
    assert not alive(pid)
    assert np.array_equal(tripped.embed(["after"]), expected(["after"]))


@pytest.mark.parametrize(("load", "why"), [(load_missing, "could not load the model: FileNotFoundError: no encoder"),
                                           (load_dying, "did not start: exit code 9")])
def test_a_child_that_cannot_load_is_transient_and_says_why(load, why: str) -> None:  # type: ignore[no-untyped-def]
    encoder = EncoderProcess(load)
    try:
        with pytest.raises(EncoderUnavailable, match=why):
            encoder.embed(["anything"])
        with pytest.raises(EncoderUnavailable):  # and again on the next call: a new child, same end
            encoder.embed(["anything"])
        assert encoder.starts == 2
    finally:
        encoder.close()


def test_stop_signals_for_the_whole_group_are_left_to_the_parent(tripped: EncoderProcess) -> None:
    tripped.embed(["warm"])
    pid = tripped.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # systemd's stop reaches every process of the service
    os.kill(pid, signal.SIGINT)  # and Ctrl-C the whole process group
    assert np.array_equal(tripped.embed(["after"]), expected(["after"]))
    assert tripped.pid == pid and tripped.starts == 1


def test_close_ends_the_child(tripped: EncoderProcess) -> None:
    tripped.embed(["warm"])
    pid = tripped.pid
    assert pid is not None and alive(pid)
    tripped.close()
    assert not alive(pid) and tripped.pid is None


def test_the_child_ends_when_its_parent_dies_without_closing(tmp_path: Path) -> None:
    script = (
        "import functools, sys\n"
        "from inboxbot.classify.encoder_process import EncoderProcess\n"
        "from tests.encoder_fakes import load_tripped\n"
        "e = EncoderProcess(functools.partial(load_tripped, None))\n"
        "e.embed(['warm'])\n"
        "print(e.pid, flush=True)\n"
        "import os; os._exit(0)\n"  # no close, no atexit: as if killed
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


@pytest.mark.skipif(not (MODEL_DIR / "encoder-int8.onnx").is_file(), reason="built encoder missing")
def test_the_real_encoder_gives_the_same_vectors_in_its_own_process() -> None:
    pytest.importorskip("onnxruntime")
    from inboxbot.classify.encoder import Encoder

    load = functools.partial(Encoder.load, MODEL_DIR, max_tokens=96, runtime="onnx", threads=1)
    texts = ["Radera mina personuppgifter, tack.", "Please send me a copy of my data (Art. 15).",
             "Bitte keine Werbung mehr.", "x"]
    here = load().embed(texts)
    child = EncoderProcess(load)
    try:
        assert child.dim == here.shape[1] == 384
        assert np.array_equal(child.embed(texts), here)  # to the bit: the same code, one text per run
    finally:
        child.close()


def processes_tagged(tag: str) -> list[int]:
    """Live processes whose environment carries INBOXBOT_TEST_TAG=tag."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"INBOXBOT_TEST_TAG={tag}".encode() in (entry / "environ").read_bytes() and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not (MODEL_DIR / "encoder-int8.onnx").is_file(), reason="built encoder missing")
def test_run_once_classifies_in_the_encoder_process_and_leaves_none_behind(tmp_path: Path) -> None:
    letters = [("Radera mina uppgifter", "Hej, radera alla mina personuppgifter enligt artikel 17.\n"),
               ("Copy of my data", "Under Article 15 GDPR please send me a copy of my personal data.\n")]
    config = write_maildir_config(tmp_path, [make_message(subject, body, sender=f"p{n}@example.se")
                                             for n, (subject, body) in enumerate(letters)])
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "INBOXBOT_LOG_LEVEL": "INFO", "INBOXBOT_TEST_TAG": tag}
    proc = subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "run", "--once"], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "encoder process" in proc.stderr and "ready" in proc.stderr
    tickets = subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "tickets", "list", "--json"],
                             cwd=ROOT, check=True, capture_output=True, text=True, timeout=60, env=env).stdout
    assert '"erasure"' in tickets and '"access"' in tickets
    assert processes_tagged(tag) == []  # the worker closed its encoder's process on the way out
