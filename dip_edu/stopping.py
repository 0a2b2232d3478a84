"""Early stopping without ground truth: ES-WMV (Wang et al., "Early Stopping for Deep Image Prior", 2021).

The running variance of the last W outputs falls while the network fits the image and rises once it starts
fitting the noise; stop when it has not reached a new minimum for P iterations and keep the output at the
minimum.
"""

from __future__ import annotations

import torch


class EsWmv:
    """Windowed moving variance of the outputs; `update` says when to stop.

    `window` W and `patience` P default to the published 100 and 1000; `EsWmv.for_iters(n)` scales them
    down for short runs. With `stop=True` a fit stops where the detector triggers; else it only records where.
    """

    def __init__(self, window: int = 100, patience: int = 1000, stop: bool = False) -> None:
        if window < 2 or patience < 1:
            raise ValueError("ES-WMV needs window >= 2 and patience >= 1")
        self.window, self.patience, self.stop = window, patience, stop
        self._buffer: torch.Tensor | None = None
        self._count = 0
        self._last = 0
        self.best_var = float("inf")
        self.best_iter: int | None = None
        self.best_image: torch.Tensor | None = None
        self.variances: list[tuple[int, float]] = []

    @classmethod
    def for_iters(cls, iters: int, stop: bool = False) -> EsWmv:
        """Published W=100, P=1000 for runs of 8000 or more iterations, scaled down in proportion below."""
        scale = min(1.0, iters / 8000)
        return cls(window=max(10, round(100 * scale)), patience=max(50, round(1000 * scale)), stop=stop)

    @property
    def triggered(self) -> bool:
        """True once the variance has not reached a new minimum for `patience` iterations."""
        return self.best_iter is not None and self._last - self.best_iter >= self.patience

    def update(self, iteration: int, output: torch.Tensor) -> bool:
        """Add the output of `iteration`; return True when the run should stop."""
        flat = output.detach().reshape(-1)
        if self._buffer is None:
            self._buffer = flat.new_empty((self.window, flat.numel()))
        self._buffer[self._count % self.window] = flat
        self._count += 1
        self._last = iteration
        if self._count < self.window:
            return False
        var = float(self._buffer.var(dim=0, unbiased=False).mean())
        self.variances.append((iteration, var))
        if var < self.best_var:
            self.best_var, self.best_iter = var, iteration
            self.best_image = output.detach().clone()
        return self.triggered
