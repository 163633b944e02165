"""Models of the lottery-ticket experiments, by name.

``lenet300`` (LeNet-300-100), ``conv2`` / ``conv4`` / ``conv6`` (Frankle & Carbin 2019: 3x3
convolutions 64,64,pool[,128,128,pool[,256,256,pool]] then fully connected 256, 256, classes),
``vgg19`` and ``resnet20`` (the CIFAR-10 shapes of OpenLTH). Every convolution and linear weight
is Kaiming-normal initialised; the input shape is a parameter, so LeNet-300-100 also runs on
scikit-learn's 8x8 digits.

>>> m = build_model("lenet300", input_shape=(1, 8, 8))
>>> [tuple(p.shape) for n, p in m.named_parameters() if n.endswith("weight")]
[(300, 64), (100, 300), (10, 100)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = ["build_model", "MODELS", "model_names", "LeNet300", "ConvNet", "VGG", "ResNet"]


def _check_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width) with positive entries, got {input_shape!r}")
    return shape  # type: ignore[return-value]


def _flat_size(features: nn.Module, input_shape: tuple[int, int, int], model: str) -> int:
    """Number of features ``features`` produces for one input (a dry run, no gradients)."""
    try:
        with torch.no_grad():
            out = features(torch.zeros(1, *input_shape))
    except RuntimeError as exc:  # e.g. pooling an input that is already 1x1
        raise ValueError(f"input_shape {input_shape} is too small for model {model!r}: {exc}") from None
    if out.numel() == 0:
        raise ValueError(f"input_shape {input_shape} is too small for model {model!r}")
    return int(out.numel())


class LeNet300(nn.Module):
    """LeNet-300-100: fully connected in -> 300 -> 100 -> classes with ReLU."""

    def __init__(self, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10):
        super().__init__()
        c, h, w = _check_shape(input_shape)
        self.fc1 = nn.Linear(c * h * w, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class ConvNet(nn.Module):
    """Conv-2/4/6 of Frankle & Carbin: blocks of two 3x3 convolutions and a 2x2 max-pool,
    widths 64, 128, 256, then fully connected 256, 256, classes."""

    def __init__(self, blocks: int, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10):
        super().__init__()
        if blocks not in (1, 2, 3):
            raise ValueError(f"blocks must be 1, 2 or 3, got {blocks!r}")
        c, h, w = _check_shape(input_shape)
        layers: list[nn.Module] = []
        for width in (64, 128, 256)[:blocks]:
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = width
        self.features = nn.Sequential(*layers)
        flat = _flat_size(self.features, (input_shape[0], h, w), f"conv{2 * blocks}")
        self.classifier = nn.Sequential(
            nn.Linear(flat, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


_VGG19_PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)


class VGG(nn.Module):
    """VGG-19 for CIFAR (OpenLTH's ``cifar_vgg_19``): 3x3 convolutions with batch norm, four
    max-pools, global average pooling and one linear layer to the classes."""

    def __init__(self, plan: Sequence[int | str] = _VGG19_PLAN, input_shape: Sequence[int] = (3, 32, 32),
                 num_classes: int = 10):
        super().__init__()
        c, h, w = _check_shape(input_shape)
        layers: list[nn.Module] = []
        for item in plan:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, int(item), 3, padding=1), nn.BatchNorm2d(int(item)), nn.ReLU()]
                c = int(item)
        self.features = nn.Sequential(*layers)
        self.features.eval()  # the dry run must not touch batch-norm statistics
        _flat_size(self.features, (input_shape[0], h, w), "vgg19")
        self.features.train()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


class _Block(nn.Module):
    """The basic residual block (two 3x3 convolutions); a 1x1 convolution shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        if stride != 1 or c_in != c_out:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet-20 for CIFAR (He et al. 2016; OpenLTH's ``cifar_resnet_20``): a 3x3 stem of 16
    channels, three stages of ``depth`` basic blocks (16, 32, 64 channels), global average pooling."""

    def __init__(self, depth: int = 3, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10):
        super().__init__()
        c, h, w = _check_shape(input_shape)
        self.conv = nn.Conv2d(c, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks: list[nn.Module] = []
        c_in = 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(depth):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(_Block(c_in, width, stride))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn(self.conv(x)))
        return self.fc(self.pool(self.blocks(out)).flatten(1))


#: name -> (constructor(input_shape, num_classes), the input shape the model was designed for)
MODELS: dict[str, tuple[Callable[[tuple[int, int, int], int], nn.Module], tuple[int, int, int]]] = {
    "lenet300": (lambda s, k: LeNet300(s, k), (1, 28, 28)),
    "conv2": (lambda s, k: ConvNet(1, s, k), (3, 32, 32)),
    "conv4": (lambda s, k: ConvNet(2, s, k), (3, 32, 32)),
    "conv6": (lambda s, k: ConvNet(3, s, k), (3, 32, 32)),
    "vgg19": (lambda s, k: VGG(_VGG19_PLAN, s, k), (3, 32, 32)),
    "resnet20": (lambda s, k: ResNet(3, s, k), (3, 32, 32)),
}


def model_names() -> list[str]:
    """The names :func:`build_model` accepts."""
    return list(MODELS)


def _kaiming_init(model: nn.Module, generator: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, generator=generator)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_model(name: str, input_shape: Sequence[int] = (1, 28, 28), num_classes: int = 10,
                seed: int = 0) -> nn.Module:
    """A freshly initialised model by registry name.

    Parameters
    ----------
    name : one of :func:`model_names` (``lenet300``, ``conv2``, ``conv4``, ``conv6``, ``vgg19``, ``resnet20``).
    input_shape : ``(channels, height, width)`` of one input.
    num_classes : width of the output layer.
    seed : the same seed gives the same weights; the global torch RNG is left untouched.

    Examples
    --------
    >>> m = build_model("conv2", input_shape=(1, 8, 8), seed=1)
    >>> m(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    """
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"name must be one of {model_names()}, got {name!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    shape = _check_shape(input_shape)
    ctor, _ = MODELS[name]
    # Seed everything the constructors draw (default bias init) without touching the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ctor(shape, num_classes)
        gen = torch.Generator().manual_seed(seed)
        _kaiming_init(model, gen)
    return model
