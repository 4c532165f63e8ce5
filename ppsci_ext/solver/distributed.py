"""Data-parallel training helpers (``python -m paddle.distributed.launch``).

Every process (rank) holds both networks, draws its own real batches and
noise, and computes its critic and generator gradients on its share of the
batch; before each optimizer step the gradients are averaged over the ranks
with one all-reduce of a flat buffer (``allreduce_gradients``). Averaging after
``backward()`` covers every term of the loss, including the gradient penalty's
double backward, so B samples on each of K ranks give the update of one
process with K*B samples.

The gradients are reduced by hand rather than through ``paddle.DataParallel``
because the solver calls the generator and the critic separately, several
times per update; ``DataParallel`` synchronises only around its own
``forward``. ``ppsci.solver.Solver`` still wraps the model (and broadcasts
rank 0's initial weights to all ranks while doing so); ``unwrap`` takes the
layers back out.

On a CPU, ``paddle.distributed.launch`` uses the gloo backend by itself; on
GPUs, NCCL. The same command line works for both, and for several machines
(``--nnodes`` and ``--master``).
"""

from __future__ import annotations

from typing import Iterable

import paddle
import paddle.distributed as dist


def world_size() -> int:
    """Number of training processes (1 without ``paddle.distributed.launch``)."""
    return dist.get_world_size()


def unwrap(model: paddle.nn.Layer) -> paddle.nn.Layer:
    """The layer inside a ``paddle.DataParallel`` (or ``model`` itself)."""
    return model._layers if isinstance(model, paddle.DataParallel) else model


def allreduce_gradients(params: Iterable[paddle.Tensor]) -> None:
    """Average the gradients of ``params`` over all ranks, in place, with one all-reduce.

    Parameters without a gradient are skipped; all ranks run the same code, so
    they skip the same ones.
    """
    n = world_size()
    if n == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = paddle.concat([g.reshape([-1]) for g in grads])
    dist.all_reduce(flat)
    flat = flat / n
    for g, part in zip(grads, paddle.split(flat, [int(g.size) for g in grads])):
        g.set_value(part.reshape(g.shape))


def allreduce_mean(value: paddle.Tensor) -> paddle.Tensor:
    """Mean of a tensor over all ranks (for logging global losses)."""
    if world_size() == 1:
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / world_size()
