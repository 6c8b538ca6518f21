"""Data-parallel training under PyTorch's launcher (``torchrun``): the process group, ranks, and who writes.

Every rank draws the whole step's batch from the same seeded stream and trains on its own equal share of it;
DistributedDataParallel averages the gradients, so N processes take exactly the step one process takes on the
whole batch (up to the summation order of float arithmetic), and a run may resume with another process count.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import torch
import torch.distributed as dist

from ..errors import EqdenoiseError


def launched_world() -> int:
    """The number of processes torchrun started (1 without torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise EqdenoiseError("WORLD_SIZE must be a whole number (as torchrun sets it)") from None


@contextmanager
def process_group():
    """Join torchrun's process group for the block (gloo: training runs on the CPU); nothing without torchrun.

    A rank that ends the block normally waits for the others before the group is torn down, so no rank closes
    its connections while another still uses them (rank 0 writes the checkpoint after the last step).
    """
    if launched_world() == 1 or dist.is_initialized():
        yield
        return
    dist.init_process_group(backend="gloo")
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()


def exit_worker_now(code: int = 0) -> None:
    """End a torchrun worker at once after its work is done and flushed, skipping the interpreter's finalization.

    Gloo's worker threads outlive ``destroy_process_group``: a barrier's completed work, released on such a thread,
    frees tensors whose Python objects need the interpreter lock. If that happens while the interpreter finalizes,
    the thread is terminated inside a C++ destructor and the whole process aborts (SIGABRT, "terminate called
    without an active exception") although training and its checkpoint are complete (``docs/method.md``, "Several processes").
    Outside torchrun this returns and the process ends normally.
    """
    if launched_world() == 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, the number of processes); (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_writer() -> bool:
    """Whether this process writes checkpoints, states and logs (rank 0 only)."""
    return rank_and_world()[0] == 0


def my_rows(batch: int) -> slice:
    """This rank's equal share of a batch of ``batch`` samples; the batch must split evenly."""
    rank, world = rank_and_world()
    if batch % world:
        raise EqdenoiseError(f"--batch {batch} does not split evenly between {world} processes")
    share = batch // world
    return slice(rank * share, (rank + 1) * share)


def data_parallel(network: torch.nn.Module) -> torch.nn.Module:
    """The network wrapped in DistributedDataParallel inside a process group (gradients averaged), else itself."""
    if rank_and_world()[1] == 1:
        return network
    return torch.nn.parallel.DistributedDataParallel(network)


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank (a time limit must stop every rank at the same step)."""
    if rank_and_world()[1] == 1:
        return flag
    value = torch.tensor([1 if flag else 0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def mean_over_ranks(value: float) -> float:
    """The mean of a number over the ranks (each rank's loss is over its share of the batch)."""
    world = rank_and_world()[1]
    if world == 1:
        return value
    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total.item()) / world
