"""Seeded mini-batch training on in-memory tensors (the whole dataset fits; a DataLoader would only add overhead)."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from architectures import Recipe
from fashion_mnist import Split

BATCH_SIZE = 128
EVAL_BATCH_SIZE = 1000


def normalise(images: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """uint8 [n, 28, 28] -> float32 [n, 1, 28, 28]; exactly the serving preprocessing: (x / 255 - mean) / std."""
    scaled = images.astype(np.float32) / np.float32(255.0)
    return torch.from_numpy((scaled - np.float32(mean)) / np.float32(std)).unsqueeze(1)


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(labels), EVAL_BATCH_SIZE):
        logits = model(inputs[start : start + EVAL_BATCH_SIZE])
        correct += int((logits.argmax(1) == labels[start : start + EVAL_BATCH_SIZE]).sum())
    return correct / len(labels)


def _flip_half(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Light augmentation: mirror a random half of the batch left-right (garments are roughly symmetric)."""
    mask = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def train(
    recipe: Recipe, train_split: Split, val_split: Split, mean: float, std: float, seed: int, epochs: int, tag: str
) -> tuple[nn.Module, float]:
    """Returns the model after the last epoch (eval mode) and its validation accuracy."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = recipe.build()
    x_train, y_train = normalise(train_split.images, mean, std), torch.from_numpy(train_split.labels)
    x_val, y_val = normalise(val_split.images, mean, std), torch.from_numpy(val_split.labels)

    steps_per_epoch = (len(y_train) + BATCH_SIZE - 1) // BATCH_SIZE
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    # One-cycle schedule: converges well within the few epochs a 2-core CPU can afford.
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.learning_rate, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
    loss_fn = nn.CrossEntropyLoss()
    started = time.monotonic()
    val_acc = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            x = x_train[idx]
            if recipe.augment:
                x = _flip_half(x, generator)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y_train[idx])
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += float(loss) * len(idx)
        val_acc = accuracy(model, x_val, y_val)
        print(
            f"[{tag}] epoch {epoch}/{epochs} loss {total_loss / len(y_train):.4f} "
            f"val_acc {val_acc:.4f} elapsed {time.monotonic() - started:.0f}s",
            flush=True,
        )
    model.eval()
    return model, val_acc
