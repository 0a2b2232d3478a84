"""Recovery from divergence: the fit's weights, optimiser state and output average, kept at the last good check.

Adam at the paper's learning rates sometimes jumps: the output collapses and the PSNR against the observation
drops by tens of dB in one step. The fit then goes back to the last state that fitted well, *with* the optimiser's
moments (restoring the weights alone replays the same jump), and halves the learning rate for the rest of the run.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

DIVERGENCE_DB = 5.0  # a drop of the PSNR against the observation larger than this is divergence
CHECK_EVERY = 10  # iterations between divergence checks (and saved good states)
MAX_RESTORES = 5  # consecutive restores before the run is declared diverged
RESTORE_LR_FACTOR = 0.5  # each restore also halves the learning rate for the rest of the run


class Guard:
    """The last good state of a fit, and the check that restores it.

    After the first save the copies are refreshed in place: a few batched copies instead of hundreds of new
    tensors every `CHECK_EVERY` steps.
    """

    def __init__(self, net: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.net, self.optimizer = net, optimizer
        self.best_obs = -np.inf
        self.weights: dict | None = None
        self.optim: dict | None = None
        self.average: torch.Tensor | None = None
        self.failures = 0  # restores in a row
        self.save(None, -np.inf)

    def save(self, average: torch.Tensor | None, obs: float) -> None:
        """Keep the network's weights, the optimiser's state and `average` as the last good state."""
        weights, optim = self.net.state_dict(), self.optimizer.state_dict()
        live = _tensors(weights) + _tensors(optim["state"])
        kept = None if self.weights is None else _tensors(self.weights) + _tensors(self.optim["state"])
        if kept is not None and _same_layout(kept, live):
            with torch.no_grad():
                _copy_all(kept, live)
            self.optim["param_groups"] = copy.deepcopy(optim["param_groups"])
        else:
            self.weights, self.optim = copy.deepcopy(weights), copy.deepcopy(optim)
        self.average = None if average is None else average.clone()
        self.best_obs = max(self.best_obs, obs)

    def check(self, k: int, obs: float, loss: float, average: torch.Tensor | None) -> str | None:
        """Save this state if the fit to the observation holds; else restore the last good one and say so."""
        if np.isfinite(obs) and np.isfinite(loss) and obs > self.best_obs - DIVERGENCE_DB:
            self.save(average, obs)
            self.failures = 0
            return None
        self.failures += 1
        self.net.load_state_dict(self.weights)  # copied into the network's own tensors
        self.optimizer.load_state_dict(copy.deepcopy(self.optim))  # the optimiser would keep these tensors: a copy
        for group in self.optimizer.param_groups:  # the same step from the same state would jump again: take half
            group["lr"] *= RESTORE_LR_FACTOR
        lr = self.optimizer.param_groups[0]["lr"]
        return (
            f"iteration {k}: PSNR against the observation fell to {obs:.2f} dB; restored weights and optimiser "
            f"state, learning rate now {lr:.3g}"
        )

    @property
    def gave_up(self) -> bool:
        """Whether the fit kept collapsing after `MAX_RESTORES` restores in a row."""
        return self.failures >= MAX_RESTORES


def _tensors(tree) -> list[torch.Tensor]:
    """The tensors of a (nested) state dict, in its order."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for value in tree.values() for t in _tensors(value)]
    return []


def _same_layout(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and x.dtype == y.dtype and x.device == y.device for x, y in zip(a, b, strict=True)
    )


def _copy_all(dst: list[torch.Tensor], src: list[torch.Tensor]) -> None:
    if hasattr(torch, "_foreach_copy_"):  # one batched launch per dtype and device where PyTorch has it
        torch._foreach_copy_(dst, src)
    else:
        for d, t in zip(dst, src, strict=True):
            d.copy_(t)
