"""Shared fixtures: small images so the engine's suite stays within minutes on two cores."""

import numpy as np
import pytest
import torch

import dip_edu as dip

# The tests' own network: three scales of 8 channels, seconds instead of minutes. Registered under a name so the
# tests can pass it wherever a preset name goes (the command line, the panel); the package does not ship it.
TINY = dip.NetSpec(down=(8,) * 3, up=(8,) * 3, skip=(2,) * 3, input_depth=8)
dip.PRESETS.setdefault("tiny", TINY)


@pytest.fixture(scope="session")
def astronaut64() -> np.ndarray:
    return dip.load("builtin:astronaut", size=64, resize=True)


@pytest.fixture(scope="session")
def camera64() -> np.ndarray:
    return dip.load("builtin:camera", size=64, resize=True)


@pytest.fixture
def sabotage(monkeypatch):
    """A fit callback that throws the weights far off at iteration 40, a divergence for the fit to recover from
    (call the fit with every=40). It reaches the fit's network by catching `nets.build`."""
    built = {}
    build = dip.nets.build

    def keep(*args, **kwargs):
        built["net"] = build(*args, **kwargs)
        return built["net"]

    def callback(progress) -> None:
        if progress.iter == 40:
            with torch.no_grad():
                for p in built["net"].parameters():
                    p.add_(torch.randn_like(p) * 5)

    monkeypatch.setattr(dip.nets, "build", keep)
    return callback
