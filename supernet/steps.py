"""One search epoch's two training passes: the weights (SGD) on the weights split, then
theta (Adam) on the architecture split, both under Gumbel-softmax masks of the epoch's
temperature. A non-finite loss stops the search with one line (``UserError``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hwnas.errors import UserError
from supernet.loss import CostTables, SearchLoss

__all__ = ["train_theta", "train_weights"]


def _finite(value: torch.Tensor, what: str, epoch: int) -> None:
    if not torch.isfinite(value):
        raise UserError(
            f"search diverged: {what} is {value.item()} in epoch {epoch + 1}; "
            f"lower search.w_lr/theta_lr or the loss knobs"
        )


def train_weights(net, w_opt, loader, temperature: float, device, epoch: int) -> dict:
    """One epoch of the weights (SGD) under sampled, detached masks: mean CE and accuracy."""
    ce_sum = correct = seen = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        masks = net.sample_masks(temperature).detach()
        logits = net(x, masks)
        ce = F.cross_entropy(logits, y)
        _finite(ce, "the weights' cross-entropy", epoch)
        w_opt.zero_grad(set_to_none=True)
        ce.backward()
        w_opt.step()
        ce_sum += ce.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    return {"train_ce": ce_sum / max(seen, 1), "train_acc": correct / max(seen, 1)}


def train_theta(
    net,
    theta_opt,
    loader,
    temperature: float,
    device,
    epoch: int,
    tables: CostTables,
    loss_fn: SearchLoss,
    searching: bool,
) -> dict:
    """One epoch of theta (Adam) on the architecture split; during warm-up only its
    accuracy. The epoch's means: CE and accuracy, and (searching) the loss and the
    sampled architectures' latency and energy (None when not sampled)."""
    ce_sum = correct = seen = 0
    loss_sum = lat_sum = ener_sum = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        if searching:
            masks = net.sample_masks(temperature)
            logits = net(x, masks)
            ce = F.cross_entropy(logits, y)
            lat = tables.latency_of(masks)
            ener = tables.energy_of(masks) if loss_fn.uses_energy else None
            loss = loss_fn(ce, lat, ener)
            _finite(loss, "the architecture loss", epoch)
            theta_opt.zero_grad(set_to_none=True)
            loss.backward(inputs=[net.theta])  # theta only: no weight gradients computed
            theta_opt.step()
            loss_sum += loss.item() * len(y)
            lat_sum += lat.item() * len(y)
            ener_sum += (ener.item() if ener is not None else 0.0) * len(y)
        else:
            with torch.no_grad():
                logits = net(x, net.sample_masks(temperature))
                ce = F.cross_entropy(logits, y)
        ce_sum += ce.item() * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
    sampled = searching and seen
    return {
        "val_ce": ce_sum / max(seen, 1),
        "val_acc": correct / max(seen, 1),
        "loss": loss_sum / seen if sampled else None,
        "sampled_latency_ms": lat_sum / seen if sampled else None,
        "sampled_energy_mj": ener_sum / seen if sampled and loss_fn.uses_energy else None,
    }
