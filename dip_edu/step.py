"""One training step (forward, loss, backward, Adam), replayed from a CUDA graph on a GPU.

The networks here are hundreds of small kernels: on a GPU the host spends longer launching them than the
device spends running them, for every lesson network and for the paper's below 512×512. A CUDA graph
records one step's launches once and replays them with one call; the mathematics is unchanged
(docs/performance.md). A graph holds fixed tensors, so the weights and optimiser state must be updated in
place; after anything replaces them (a divergence restore, a new learning rate) the step is captured again.
"""

from __future__ import annotations

import contextlib

import torch

WARMUP = 3  # eager steps before a capture: lazy initialisation (cuDNN, cuBLAS, autograd) stays out of it


class Step:
    """`step(net_input)` runs one step and returns (output, A(output), loss), valid until the next call."""

    def __init__(
        self, net, optimizer, operator, target, mask, graph: bool, cast: torch.dtype | None = None, layout=None
    ) -> None:
        self.net, self.optimizer, self.operator = net, optimizer, operator
        self.target, self.mask = target, mask
        self.graph_wanted = graph
        self.cast = cast  # the network's forward under autocast to this dtype; None: float32 throughout
        self.layout = layout  # the memory format the network's weights are in (channels-last for bf16 on a CPU)
        self.failure: str | None = None  # why capture failed, if it did; the steps then run eagerly
        self.reset()

    def reset(self) -> None:
        """Forget the captured graph (after the weights, optimiser state or learning rate were replaced)."""
        self._graph = None
        self._eager_left = WARMUP

    def __call__(self, net_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self._graph is not None:
            self._input.copy_(net_input)
            self._graph.replay()
            return self._outputs
        if self.graph_wanted and self.failure is None and self._eager_left == 0:
            return self._capture(net_input)
        self._eager_left -= 1
        return self._eager(net_input)

    def forward(self, net_input: torch.Tensor) -> torch.Tensor:
        """The network's output in float32, computed at the step's precision (also used for snapshots)."""
        if self.layout is not None:
            net_input = net_input.contiguous(memory_format=self.layout)
        with autocast(net_input.device, self.cast):
            return self.net(net_input).float().contiguous()

    def _compute(self, net_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.forward(net_input)
        pred = self.operator(out)
        diff = (pred - self.target) ** 2
        loss = (diff * self.mask).mean() if self.mask is not None else diff.mean()
        loss.backward()
        self.optimizer.step()
        return out.detach(), pred.detach(), loss.detach()

    def _eager(self, net_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.optimizer.zero_grad(set_to_none=True)
        if not self.graph_wanted:
            return self._compute(net_input)
        side = torch.cuda.Stream()  # warm-up steps on a side stream, as PyTorch's capture recipe asks
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            outputs = self._compute(net_input)
        torch.cuda.current_stream().wait_stream(side)
        return outputs

    def _capture(self, net_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.optimizer.zero_grad(set_to_none=True)  # gradients are then written, not accumulated, on replay
        self._input = net_input.clone()
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: a notebook may use the GPU from another thread while the panel's fit captures; only
            # this thread's calls are checked against the capture (a precaution: "global" also passed the test)
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._outputs = self._compute(self._input)
        except RuntimeError as exc:  # an operation the graph cannot hold: run eagerly from here on
            self.failure = str(exc).splitlines()[0]
            torch.cuda.synchronize()
            return self._eager(net_input)
        self._graph = graph
        graph.replay()  # capturing only records the step: this runs it
        return self._outputs


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast to `dtype` on the device (matrix products and convolutions in it, weights kept in float32)."""
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
