"""One training step, replayed from a CUDA graph on a GPU.

The networks here are hundreds of small kernels: on a GPU the host spends longer launching them than the
device spends running them, for every lesson network and for the paper's below 512×512. A CUDA graph
records one step's launches once and replays them with one call; the mathematics is unchanged
(docs/performance.md). A graph holds fixed tensors, so the weights and optimiser state must be updated in
place; after anything replaces them (a divergence restore, a new learning rate) the step is captured again.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

WARMUP = 3  # eager steps before a capture: lazy initialisation (cuDNN, cuBLAS, autograd) stays out of it
Outputs = tuple[torch.Tensor, ...]


class Step:
    """`step(net_input)` runs `fn(net_input)` (one whole training step) and returns its outputs.

    With `graph=True` (a CUDA device) the step runs eagerly `WARMUP` times, is then captured once, and every later
    call copies the input into the graph and replays it; the outputs are then the graph's own tensors, valid until
    the next call. `fn` must zero the gradients with `set_to_none=True` before its backward pass, so that replays
    write the gradients instead of adding to them.
    """

    def __init__(self, fn: Callable[[torch.Tensor], Outputs], graph: bool) -> None:
        self.fn = fn
        self.graph_wanted = graph
        self.failure: str | None = None  # why capture failed, if it did; the steps then run eagerly
        self.reset()

    def reset(self) -> None:
        """Forget the captured graph (after the weights, optimiser state or learning rate were replaced)."""
        self._graph = None
        self._eager_left = WARMUP

    @property
    def graphed(self) -> bool:
        """Whether the steps are (to be) replayed from a CUDA graph."""
        return self.graph_wanted and self.failure is None

    def __call__(self, net_input: torch.Tensor) -> Outputs:
        if self._graph is not None:
            self._input.copy_(net_input)
            self._graph.replay()
            return self._outputs
        if self.graphed and self._eager_left == 0:
            return self._capture(net_input)
        self._eager_left -= 1
        return self._eager(net_input)

    def _eager(self, net_input: torch.Tensor) -> Outputs:
        if not self.graph_wanted:
            return self.fn(net_input)
        side = torch.cuda.Stream()  # warm-up steps on a side stream, as PyTorch's capture recipe asks
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            outputs = self.fn(net_input)
        torch.cuda.current_stream().wait_stream(side)
        return outputs

    def _capture(self, net_input: torch.Tensor) -> Outputs:
        self._input = net_input.clone()
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: a notebook may use the GPU from another thread while the panel's fit captures; only
            # this thread's calls are checked against the capture
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._outputs = self.fn(self._input)
        except RuntimeError as exc:  # an operation the graph cannot hold: run eagerly from here on
            self.failure = str(exc).splitlines()[0]
            torch.cuda.synchronize()
            return self._eager(net_input)
        self._graph = graph
        graph.replay()  # capturing only records the step: this runs it
        return self._outputs
