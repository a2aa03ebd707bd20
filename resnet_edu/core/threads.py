"""Run a block of code with a given number of PyTorch CPU threads, then restore the old number.

The book's experiments push tiny tensors (8x8 digits, 16-64 channels) through many
layers. For them one thread is about as fast as two, and it does not collapse when the
machine is busy: with two threads and another process on the cores, each operation's
threads wait for each other and a run can take ten times longer (measured here).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Set ``torch.set_num_threads(num_threads)`` inside the ``with`` block; ``None`` changes nothing.

    Args:
        num_threads: threads for PyTorch's CPU operations, or ``None`` to keep the current number.
    """
    if num_threads is None:
        yield
        return
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: Threads the package uses for its own runs of the book's tiny networks (8x8 digits,
#: 16-64 channels) when the caller does not say: one is as fast as two there, and does
#: not collapse when other programs share the cores (measured in tests/benchmarks).
SMALL_NETWORK_THREADS = 1


def small_network_threads(num_threads: int | None) -> int:
    """``num_threads``, or :data:`SMALL_NETWORK_THREADS` when it is ``None``."""
    return SMALL_NETWORK_THREADS if num_threads is None else num_threads
