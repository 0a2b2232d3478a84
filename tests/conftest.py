"""Shared fixtures: small images so the engine's suite stays within minutes on two cores."""

import numpy as np
import pytest

import dip_edu as dip


@pytest.fixture(scope="session")
def astronaut64() -> np.ndarray:
    return dip.load("builtin:astronaut", size=64, resize=True)


@pytest.fixture(scope="session")
def camera64() -> np.ndarray:
    return dip.load("builtin:camera", size=64, resize=True)
