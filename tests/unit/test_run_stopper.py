"""`make run`'s Ctrl-C handling: a signal while a process is being spawned (where Python swallows an
exception raised in its fork hooks) still stops the start-up right after; a stop under way ignores more."""

from __future__ import annotations

import os
import signal

import pytest

from devstack.run import Stopper


@pytest.fixture
def stopper():
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield Stopper()
    signal.signal(signal.SIGINT, saved[0])
    signal.signal(signal.SIGTERM, saved[1])


def test_the_first_signal_interrupts(stopper):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    assert stopper.requested.is_set()


def test_a_signal_while_spawning_is_raised_right_after(stopper):
    reached_the_end_of_the_block = False
    with pytest.raises(KeyboardInterrupt):
        with stopper.shielded():
            os.kill(os.getpid(), signal.SIGINT)
            reached_the_end_of_the_block = True
    assert reached_the_end_of_the_block and stopper.requested.is_set()


def test_once_stopping_further_signals_are_ignored(stopper):
    stopper.stopping = True
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)
    stopper.check()
