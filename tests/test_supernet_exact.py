"""The three executions compute the same supernet: exact == naive (loss,
gradients of weights and theta, BN running statistics), single_path == the chosen op."""

import pytest
import torch
import torch.nn.functional as F

from hwnas.timing import fixed_threads
from supernet.model import Supernet


@pytest.fixture(autouse=True)
def one_thread():
    # 2 cores shared with other jobs: more threads only add waiting
    with fixed_threads(1):
        yield


def _step(net, x, y, masks, execution, channels_last=False):
    net.execution, net.channels_last = execution, channels_last
    net.zero_grad(set_to_none=True)
    m = masks + net.theta - net.theta.detach()  # same values, gradient reaches theta
    loss = F.cross_entropy(net(x, m), y)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    buffers = {n: b.clone() for n, b in net.named_buffers()}
    return loss.detach(), grads, buffers


@pytest.mark.parametrize("channels_last", [False, True])
def test_exact_equals_naive_loss_gradients_and_bn_stats(space, channels_last):
    torch.manual_seed(0)
    net = Supernet(space, "naive").double()
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    y = torch.randint(0, 10, (4,))
    masks = torch.softmax(torch.randn(space.num_layers, len(space.ops), dtype=torch.float64), -1)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    loss_n, grads_n, buf_n = _step(net, x, y, masks, "naive")
    net.load_state_dict(start)
    loss_e, grads_e, buf_e = _step(net, x, y, masks, "exact", channels_last)
    assert loss_e.item() == pytest.approx(loss_n.item(), abs=1e-10)
    assert grads_e.keys() == grads_n.keys()
    assert "theta" in grads_e
    for name in grads_n:
        torch.testing.assert_close(grads_e[name], grads_n[name], rtol=1e-7, atol=1e-9, msg=name)
    for name in buf_n:  # running stats written back to each candidate's own BN
        torch.testing.assert_close(buf_e[name], buf_n[name], rtol=1e-7, atol=1e-9, msg=name)


def test_exact_equals_naive_in_float32_and_eval_mode(space):
    torch.manual_seed(1)
    net = Supernet(space, "naive")
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    masks = net.sample_masks(1.0).detach()
    start = {k: v.clone() for k, v in net.state_dict().items()}
    loss_n, grads_n, _ = _step(net, x, y, masks, "naive")
    net.load_state_dict(start)
    loss_e, grads_e, _ = _step(net, x, y, masks, "exact", True)
    assert abs(loss_e.item() - loss_n.item()) < 1e-5
    # (gradients are compared in float64 above: through a stack of train-mode BNs on a
    # small batch, float32 rounding of different but equal sums is amplified)
    net.eval()
    with torch.no_grad():
        net.execution = "naive"
        out_n = net(x, masks)
        net.execution = "exact"
        out_e = net(x, masks)
    torch.testing.assert_close(out_e, out_n, rtol=1e-4, atol=1e-5)


def test_single_path_runs_only_the_chosen_op(space):
    torch.manual_seed(2)
    net = Supernet(space, "single_path")
    masks = net.sample_masks(1.0)  # hard, straight-through
    assert torch.equal(masks.detach().sum(1), torch.ones(space.num_layers))
    x = torch.randn(2, 3, 32, 32)
    layer, mask = net.layers[5], masks[5]
    chosen = int(mask.argmax())
    calls = []
    hooks = [op.register_forward_hook(lambda m, i, o, k=k: calls.append(k)) for k, op in enumerate(layer.ops)]
    h = net.stem(x)
    for l in range(5):
        h = net.layers[l](h, masks[l], "naive")
    out = layer(h, mask, "single_path")
    for hook in hooks:
        hook.remove()
    assert calls == [chosen]
    torch.testing.assert_close(out, layer.ops[chosen](h))
    out.sum().backward()
    assert net.theta.grad is not None
    assert net.theta.grad[5].abs().sum() > 0
