"""The speed work behind `dip_edu.fast`: the same network, the same numbers, and process settings one can refuse."""

import copy

import pytest
import torch

import dip_edu as dip
from dip_edu import fast, lessons
from dip_edu.fast import cpu, layers
from dip_edu.fast.layers import Pointwise, ReflectionPad, swap_layers

WIDE = dip.NetSpec(down=(32,) * 3, up=(32,) * 3, skip=(4,) * 3, input_depth=8)


def test_the_network_a_learner_builds_has_only_plain_torch_layers():
    net = dip.build("lesson")
    kinds = {type(m) for m in net.modules()}
    assert not kinds & {Pointwise, ReflectionPad}
    assert torch.nn.Conv2d in kinds and torch.nn.ReflectionPad2d in kinds
    assert "Pointwise" not in repr(net) and "ReflectionPad2d" in repr(net)


def _outputs_and_grads(net, z, cast=None):
    net.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=cast, enabled=cast is not None):
        out = net(z).float()
    out.square().mean().backward()
    return out.detach(), [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("cast", [None, torch.bfloat16], ids=["float32", "bf16"])
def test_the_swapped_layers_give_the_plain_networks_outputs_and_gradients(cast):
    torch.manual_seed(0)
    plain = dip.build(WIDE)
    swapped = swap_layers(copy.deepcopy(plain))
    assert sum(isinstance(m, Pointwise) for m in swapped.modules()) == 7  # 3 skips, 3 on the way up, the last
    assert sum(isinstance(m, ReflectionPad) for m in swapped.modules()) == 9
    assert [n for n, _ in plain.named_parameters()] == [n for n, _ in swapped.named_parameters()]
    z = torch.rand(1, 8, 32, 32)
    out_plain, grads_plain = _outputs_and_grads(plain, z, cast)
    out_fast, grads_fast = _outputs_and_grads(swapped, z, cast)
    tol = 1e-5 if cast is None else 2e-2  # bf16: the same arithmetic rounded in a different order at the borders
    assert torch.allclose(out_fast, out_plain, rtol=tol, atol=tol)
    for got, want in zip(grads_fast, grads_plain, strict=True):
        assert torch.allclose(got, want, rtol=tol * 10, atol=tol * max(1.0, want.abs().max().item()))


def test_swapping_shares_the_parameters_and_draws_no_random_numbers():
    torch.manual_seed(0)
    net = dip.build(WIDE)
    before = {id(p) for p in net.parameters()}
    state = torch.random.get_rng_state()
    swap_layers(net)
    assert {id(p) for p in net.parameters()} == before
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_cpu_fit_uses_the_fast_layers_and_a_gpu_free_engine_never_graphs(astronaut64):
    run = dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=3, device="cpu", precision="float32")
    assert any(isinstance(m, Pointwise) for m in run.net.modules())
    assert not any(isinstance(m, ReflectionPad) for m in run.net.modules())  # only worth it under bf16
    assert run.config["cuda_graph"] is False


def test_padding_stays_in_bf16_under_autocast_and_changes_no_value():
    torch.manual_seed(0)
    x = torch.rand(1, 4, 6, 6, dtype=torch.bfloat16, requires_grad=True)
    grad = torch.rand(1, 4, 8, 8, dtype=torch.bfloat16)
    plain, ours = torch.nn.ReflectionPad2d(1), ReflectionPad(1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        upcast, kept = plain(x), ours(x)
    assert upcast.dtype == torch.float32  # what autocast does to reflection padding: the copies this pad saves
    assert kept.dtype == torch.bfloat16 and torch.equal(kept.float(), upcast)  # the same values, no float32 copy
    (g_plain,) = torch.autograd.grad(upcast, x, grad.float())
    (g_ours,) = torch.autograd.grad(kept, x, grad)
    assert torch.allclose(g_ours.float(), g_plain.float(), rtol=2e-2, atol=1e-2)  # border sums rounded in bf16
    pads = [m for m in swap_layers(dip.nets.build(WIDE)).modules() if isinstance(m, torch.nn.ReflectionPad2d)]
    assert pads and all(isinstance(m, ReflectionPad) for m in pads)
    assert ours(x.float()).dtype == torch.float32  # outside autocast: the plain pad


def test_pointwise_matrix_product_matches_the_convolution():
    """The 1×1 layers' matrix-product path computes what nn.Conv2d computes, forward and backward."""
    torch.manual_seed(0)
    layer = Pointwise(6, 5)
    x = torch.rand(1, 6, 20, 20, requires_grad=True)
    fast = layer(x)
    assert "Addmm" in fast.grad_fn.next_functions[0][0].name()  # the matrix product, not the convolution
    fast.square().sum().backward()
    grads = x.grad.clone(), layer.weight.grad.clone(), layer.bias.grad.clone()
    x.grad = layer.weight.grad = layer.bias.grad = None
    plain = torch.nn.functional.conv2d(x, layer.weight, layer.bias)
    plain.square().sum().backward()
    assert torch.allclose(fast, plain, atol=1e-6)
    for got, want in zip(grads, (x.grad, layer.weight.grad, layer.bias.grad), strict=True):
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)


def test_pointwise_leaves_maps_from_256x256_up_to_the_convolution(monkeypatch):
    layer = Pointwise(2, 3)
    monkeypatch.setattr(layers, "GEMM_BELOW", 20 * 20)  # a small map stands for a large one
    assert "Convolution" in layer(torch.rand(1, 2, 20, 20, requires_grad=True)).grad_fn.name()
    assert "Addmm" in layer(torch.rand(1, 2, 19, 20, requires_grad=True)).grad_fn.next_functions[0][0].name()


def test_process_settings_are_listed_and_can_be_turned_off(astronaut64, monkeypatch):
    for key in cpu.ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(cpu, "usable", lambda root=None: 1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        made = []
        monkeypatch.setattr(cpu, "reuse_memory", lambda: made.append("malloc") or True)
        fast.configure(cap_threads=False, keep_memory=False)
        assert fast.process_settings() == []
        assert lessons.environment()["process settings"] == "none"
        dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=2, device="cpu")
        assert torch.get_num_threads() == 2 and made == []  # refused: left as they were
        fast.configure(cap_threads=True, keep_memory=True)
        assert any("threads capped at 1" in line for line in fast.process_settings())
        assert "threads capped at 1" in lessons.environment()["process settings"]
        dip.fit(dip.noisy(astronaut64, 25), "tiny", iters=2, device="cpu")
        assert torch.get_num_threads() == 1 and made == ["malloc"]
    finally:
        fast.configure(cap_threads=True, keep_memory=True)
        torch.set_num_threads(threads)
