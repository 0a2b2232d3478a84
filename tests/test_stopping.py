import numpy as np
import pytest
import torch

from dip_edu import EsWmv


def _outputs(n: int, quiet_at: int, seed: int = 0):
    """Outputs whose spread shrinks towards `quiet_at` and grows after it: the windowed variance has one minimum."""
    gen = torch.Generator().manual_seed(seed)
    for t in range(1, n + 1):
        scale = 0.02 + abs(t - quiet_at) / n
        yield t, torch.randn(1, 3, 8, 8, generator=gen) * scale


def test_es_wmv_finds_the_quiet_stretch_and_stops_after_patience():
    detector = EsWmv(window=20, patience=100)
    stopped_at = None
    for t, out in _outputs(1000, quiet_at=400):
        if detector.update(t, out):
            stopped_at = t
            break
    assert 400 <= detector.best_iter <= 400 + 20  # the window that is centred on the quiet point ends here
    assert stopped_at == detector.best_iter + 100
    assert detector.best_image is not None and detector.best_image.shape == (1, 3, 8, 8)


def test_es_wmv_does_not_stop_while_the_variance_keeps_falling():
    detector = EsWmv(window=10, patience=50)
    assert not any(detector.update(t, out) for t, out in _outputs(300, quiet_at=320))


def test_es_wmv_defaults_are_the_published_ones_and_scale_for_short_runs():
    assert (EsWmv().window, EsWmv().patience) == (100, 1000)
    short = EsWmv.for_iters(800)
    assert (short.window, short.patience) == (10, 100)
    assert (EsWmv.for_iters(20000).window, EsWmv.for_iters(20000).patience) == (100, 1000)
    with pytest.raises(ValueError):
        EsWmv(window=1)


def test_variance_is_the_windowed_spread():
    detector = EsWmv(window=3, patience=10)
    for t, value in enumerate([0.0, 1.0, 2.0], start=1):
        detector.update(t, torch.full((4,), value))
    assert detector.variances[-1][1] == pytest.approx(np.var([0.0, 1.0, 2.0]))
