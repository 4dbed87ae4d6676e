"""The two classifier architectures. Both take [N, 1, 28, 28] normalised float32 and return [N, 10] logits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn


def compact_cnn() -> nn.Module:
    """v1: two 5x5 conv/pool stages and a small dense head, no normalisation layers."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 14x14
        nn.Conv2d(16, 32, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 7x7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def deeper_cnn() -> nn.Module:
    """v2: two stages of stacked 3x3 conv + BatchNorm (VGG-style), dropout, a wider dense head."""
    return nn.Sequential(
        *_conv_bn(1, 16),
        *_conv_bn(16, 16),
        nn.MaxPool2d(2),  # 14x14
        *_conv_bn(16, 32),
        *_conv_bn(32, 32),
        nn.MaxPool2d(2),  # 7x7
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, 10),
    )


@dataclass(frozen=True)
class Recipe:
    """What differs between versions: the network, its description, and how it is trained."""

    build: Callable[[], nn.Module]
    architecture: str
    description: str
    epochs: int
    learning_rate: float
    weight_decay: float
    augment: bool


RECIPES: dict[str, Recipe] = {
    "v1": Recipe(
        build=compact_cnn,
        architecture="compact-cnn: conv5x5(16)-pool-conv5x5(32)-pool-fc64-fc10",
        description="Fashion-MNIST classifier v1: compact two-stage CNN (5x5 filters), no normalisation layers.",
        epochs=4,
        learning_rate=2e-3,
        weight_decay=0.0,
        augment=False,
    ),
    "v2": Recipe(
        build=deeper_cnn,
        architecture="deeper-cnn: 2x[conv3x3+BN](16)-pool-2x[conv3x3+BN](32)-pool-dropout-fc128-dropout-fc10",
        description="Fashion-MNIST classifier v2: deeper CNN with stacked 3x3 filters, BatchNorm and dropout.",
        epochs=10,
        learning_rate=3e-3,
        weight_decay=1e-4,
        augment=True,
    ),
}
