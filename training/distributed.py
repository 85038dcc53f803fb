"""One process or many: what the training loop needs to know, whichever it is.

Under Horovod (launched by `horovod.spark.run` or `horovodrun`) gradients are averaged with
`hvd.DistributedOptimizer`, rank 0's initial state is broadcast, and metrics are averaged
over ranks. Alone (notebooks, tests), the same calls are no-ops.

This module is the distributed backend's one seam: `launch` starts the processes and
`context` tells a process where it stands. Moving to Spark's TorchDistributor means a
`launch` over it and a torch.distributed context here; the training loop does not change.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch


class Single:
    rank, size, local_rank, local_size = 0, 1, 0, 1

    def wrap_optimizer(self, optimizer, model):
        return optimizer

    def broadcast_state(self, model, optimizer) -> None:
        pass

    def sum(self, value: torch.Tensor, name: str) -> torch.Tensor:
        return value

    def average_buffers(self, model, name: str) -> None:
        """Make non-parameter state (BatchNorm running statistics) equal on every process."""


class Horovod(Single):
    def __init__(self):
        import horovod.torch as hvd

        hvd.init()
        self.hvd = hvd
        self.rank, self.size, self.local_rank = hvd.rank(), hvd.size(), hvd.local_rank()
        self.local_size = hvd.local_size()

    def wrap_optimizer(self, optimizer, model):
        named = [(k, v) for k, v in model.named_parameters() if v.requires_grad]  # frozen ones get no hooks
        return self.hvd.DistributedOptimizer(optimizer, named_parameters=named)

    def broadcast_state(self, model, optimizer) -> None:
        self.hvd.broadcast_parameters(model.state_dict(), root_rank=0)
        if optimizer is not None:
            self.hvd.broadcast_optimizer_state(optimizer, root_rank=0)

    def sum(self, value, name):
        return self.hvd.allreduce(value.detach().cpu(), name=name, op=self.hvd.Sum)

    def average_buffers(self, model, name):
        for key, buffer in model.named_buffers():
            if buffer.is_floating_point():  # running mean/var; the batch counters are equal already
                buffer.copy_(self.hvd.allreduce(buffer.detach(), name=f"{name}.{key}", op=self.hvd.Average))


def launch(process: Callable, arg, num_proc: int) -> list:
    """process(arg) in `num_proc` processes: Horovod ranks in Spark tasks (`horovod.spark.run`,
    Gloo), or, for one, here in the driver. Returns each process's result, by rank."""
    if num_proc == 1:
        return [process(arg)]
    import horovod.spark

    return horovod.spark.run(process, args=(arg,), num_proc=num_proc, use_gloo=True, use_mpi=False,
                             stdout=sys.stdout, stderr=sys.stderr, verbose=1)


def launched_by_horovod() -> bool:
    return any(k in os.environ for k in ("HOROVOD_RANK", "OMPI_COMM_WORLD_RANK", "HOROVOD_HOSTNAME"))


def context() -> Single:
    return Horovod() if launched_by_horovod() else Single()


def device_for(ctx: Single) -> torch.device:
    """One GPU per rank when there are GPUs, the CPU otherwise (its cores split between the ranks)."""
    if torch.cuda.is_available():
        return torch.device("cuda", ctx.local_rank % torch.cuda.device_count())
    # torch starts one thread per core in every process: N ranks on one host would run N x cores
    # threads and thrash. Give each rank its share of the cores.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // ctx.local_size))
    return torch.device("cpu")
