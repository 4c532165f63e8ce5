"""In-memory batches of real data, with a resumable shuffling state."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import paddle


class ArrayBatchSampler:
    """Shuffled mini-batches drawn from named in-memory arrays, epoch after epoch.

    It replaces a DataLoader for the real data of GAN training: arrays are
    indexed in place (no per-sample collation) and the whole shuffling state
    (random generator, current permutation, position) is a small dict, so a
    resumed run sees exactly the batches the uninterrupted run would have seen.
    Incomplete batches at the end of a permutation are dropped.

    Args:
        input (Dict[str, np.ndarray]): Input arrays (the real samples), equal lengths.
        label (Optional[Dict[str, np.ndarray]]): Label arrays. Defaults to None.
        batch_size (int): Batch size, at most the number of samples.
        seed (int): Seed of the shuffling. Defaults to 0.
        rank (int): This process's rank in data-parallel training. Defaults to 0.
        world_size (int): Number of processes. Each draw takes a global batch of
            ``batch_size * world_size`` from the shared permutation (all ranks
            use the same seed) and returns this rank's slice of it, so the ranks
            together see exactly the batches of one process with the global
            batch size. Defaults to 1.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.sampler import ArrayBatchSampler
        >>> sampler = ArrayBatchSampler({"x": np.zeros((10, 2), "float32")}, batch_size=4)
        >>> inputs, labels = sampler.next()
        >>> inputs["x"].shape
        [4, 2]
    """

    def __init__(self, input: Dict[str, np.ndarray], label: Optional[Dict[str, np.ndarray]] = None,
                 batch_size: int = 1, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.input = input
        self.label = label or {}
        self.num_samples = len(next(iter(input.values())))
        if not 0 < batch_size * world_size <= self.num_samples:
            raise ValueError(f"batch_size {batch_size} x {world_size} processes must be in [1, {self.num_samples}]")
        self.batch_size = int(batch_size)
        self.rank, self.world_size = int(rank), int(world_size)
        self.rng = np.random.default_rng(seed)
        self.perm = self.rng.permutation(self.num_samples)
        self.cursor = 0

    def next(self) -> Tuple[Dict[str, paddle.Tensor], Dict[str, paddle.Tensor]]:
        """The next batch as (input, label) dicts of tensors."""
        global_batch = self.batch_size * self.world_size
        if self.cursor + global_batch > self.num_samples:
            self.perm = self.rng.permutation(self.num_samples)
            self.cursor = 0
        start = self.cursor + self.rank * self.batch_size
        idx = self.perm[start : start + self.batch_size]
        self.cursor += global_batch
        inputs = {k: paddle.to_tensor(v[idx]) for k, v in self.input.items()}
        labels = {k: paddle.to_tensor(v[idx]) for k, v in self.label.items()}
        return inputs, labels

    def state_dict(self) -> Dict[str, Any]:
        """Shuffling state: enough to continue with the same batches."""
        return {"rng": self.rng.bit_generator.state, "perm": self.perm.copy(), "cursor": self.cursor}

    def set_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state from ``state_dict`` (of a sampler over the same number of samples)."""
        if len(state["perm"]) != self.num_samples:
            raise ValueError(
                f"sampler state is for {len(state['perm'])} samples, this data has {self.num_samples}"
            )
        self.rng.bit_generator.state = state["rng"]
        self.perm = np.asarray(state["perm"])
        self.cursor = int(state["cursor"])
