"""LEARNet (Sec. III-B, Fig. 2, Table I) and the CNN baselines of Table V, as PyTorch modules.

:func:`build` is the one entry point: ``build("learnet", 8)``, ``build("vgg16", 5)``, ...
The baselines come from torchvision, randomly initialised (``weights=None``: nothing is
downloaded), with their classifier sized for ``num_classes``; all take the paper's
112×112×3 input.

LEARNet follows the authors' public Keras code, which is the one unambiguous statement of
the topology (the paper's Table I does not add up, see :func:`learnet_lite.tables.table1`):

* stem: conv 3×3×16, stride 2 → 56×56×16;
* four lateral paths from the stem, each conv 1×1×16 → 3×3×32 → 5×5×64, stride 2
  (28², 14², 7²);
* accretion (Eq. 8): path 2 adds path 1's output after its 1×1 and its 3×3 conv, path 4
  adds path 3's; each sum goes through BatchNorm and is what the path's next conv reads;
* concat of the four 7×7×64 path outputs → BatchNorm ("LRN" in Table I, which the paper's
  Eqs. 9–12 describe as batch normalisation) → conv 5 3×3×256 stride 2 → 4×4×256 →
  flatten 4096 → FC 256 + ReLU → dropout 0.5 → FC ``num_classes`` (logits; Keras' softmax
  lives in :class:`torch.nn.CrossEntropyLoss`).

Every conv has a ReLU. With 8 classes this is 1,866,824 trainable parameters.

The paths' first convs (1×1, stride 2) read only every other pixel of the 56×56 stem map,
so :meth:`LEARNet.forward` computes the stem at those pixels only (the same 3×3 kernel at
stride 4: the same dot products, a quarter of the stem's work, no 56×56 map to store or
back-propagate into); :meth:`LEARNet.lateral` and :func:`learnet_lite.tables.layer_summary` still
run every layer on its whole input, for the figures and the layer table.

Where we follow Keras and where PyTorch (faithful to the authors' code wherever it changes
the numbers a reader could observe):

* padding "same" exactly as Keras/TensorFlow computes it: for stride 2 the total padding
  ``max((ceil(n/s) - 1)·s + k - n, 0)`` is split with the extra pixel at the bottom/right
  (PyTorch's symmetric ``padding=`` would shift every sampling grid by one pixel);
* BatchNorm with Keras' defaults, momentum 0.99 for the running statistics (PyTorch's
  ``momentum`` is the weight of the *new* batch, so 0.01) and ``eps=1e-3``;
* Glorot-uniform weights and zero biases (Keras' defaults) rather than PyTorch's
  Kaiming-uniform;
* PyTorch's channels-first layout for the flatten (Keras flattens H·W·C); the parameter
  count and what the layer can express are the same, only the order of the 4096 inputs
  differs, so Keras weights would need a permutation to load.

Ablations are options of the same builder (``build("learnet", n, accretion=False)``):
``accretion=False`` runs four plain paths; ``downsample="maxpool"`` replaces every stride-2
conv by a stride-1 conv followed by 2×2 max pooling (Fig. 5's comparison);
``final_map=3`` uses "valid" padding in conv 5 (7×7 → 3×3, flatten 2304), the one
configuration whose count (1,408,072 for 8 classes) is near the paper's 1.4M.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from . import inputs
from .profiles import CHOICES, HANDCRAFTED

INPUT_SIZE = inputs.INPUT_SIZE  # Sec. III-B / Table I: 112×112×3 dynamic images
NAMES = tuple(m for m in CHOICES["models"] if m not in HANDCRAFTED)   # the networks (Table V's and LEARNet)

# Keras BatchNormalization defaults (momentum 0.99 on the running mean => 0.01 here).
KERAS_BN = dict(momentum=0.01, eps=1e-3)


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with Keras/TensorFlow "same" padding: output ``ceil(n / stride)``,
    and when the total padding is odd the extra row/column goes to the bottom/right."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, **kwargs)

    def _pads(self, n: int, k: int, s: int) -> tuple[int, int]:
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = self._pads(x.shape[-2], self.kernel_size[0], self.stride[0])
        left, right = self._pads(x.shape[-1], self.kernel_size[1], self.stride[1])
        if top == bottom and left == right:  # symmetric: let the conv pad (no copy)
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left))
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias, self.stride)


def _conv(cin: int, cout: int, k: int, downsample: str, padding: str = "same") -> nn.Sequential:
    """Conv + ReLU that halves the map: a stride-2 conv (the paper, Eq. 6) or, for the
    Fig. 5 ablation, a stride-1 conv followed by 2×2 max pooling (rounding up, so the
    sizes match the stride-2 network's: 7 → 4 as Keras "same", and 5 → 3 for "valid")."""
    if downsample == "conv":
        conv = Conv2dSame(cin, cout, k, stride=2) if padding == "same" else nn.Conv2d(cin, cout, k, stride=2)
        return nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU(inplace=True)))
    conv = Conv2dSame(cin, cout, k, stride=1) if padding == "same" else nn.Conv2d(cin, cout, k)
    return nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU(inplace=True),
                                     pool=nn.MaxPool2d(2, 2, ceil_mode=True)))


class Path(nn.Sequential):
    """One lateral path: conv 1×1×16 → 3×3×32 → 5×5×64, each stride 2 (Table I, Conv 2–4).

    Indexable by level (0, 1, 2): :class:`LEARNet` runs the levels one at a time so that
    the accreting paths can add their neighbour between them."""

    widths = (16, 32, 64)
    kernels = (1, 3, 5)

    def __init__(self, cin: int = 16, downsample: str = "conv"):
        super().__init__()
        chans = (cin,) + self.widths
        for level, k in enumerate(self.kernels, start=1):
            self.add_module(f"conv{level + 1}", _conv(chans[level - 1], chans[level], k, downsample))


class Accretion(nn.Module):
    """Accretion layer (Eq. 8): :math:`A_{acc}(x) = A^1(x) + A^2(x)`, then BatchNorm as in
    the authors' code (Table I's Add-1/Add-2 rows)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, **KERAS_BN)

    def forward(self, a1: torch.Tensor, a2: torch.Tensor) -> torch.Tensor:
        return self.bn(a1 + a2)


class LEARNet(nn.Module):
    """Lateral Accretive Hybrid Network (Sec. III-B, Fig. 2), the authors' Keras topology.

    Children, named as in the paper: ``stem`` (Conv-1), ``path1``…``path4`` (Conv-2…4 of
    each lateral path), ``accretion`` (Add-1.1, Add-1.2, Add-2.1, Add-2.2: path 2 accretes
    path 1, path 4 accretes path 3, after levels 1 and 2), ``concat_bn`` (Concat + "LRN"),
    ``conv5``, ``fc`` (FC 256 + ReLU + dropout 0.5) and ``classifier``.

    Options (ablations, see the module docstring): ``accretion``, ``downsample``
    (``"conv"`` or ``"maxpool"``), ``final_map`` (4 or 3), ``dropout``.
    """

    # (accreting path, path it adds) — Fig. 2
    PAIRS = ((2, 1), (4, 3))
    # forward computes the stem only where the paths read it (see _level1_where_read);
    # False runs every layer as a module on its whole input (torchinfo, forward hooks)
    skip_unread_stem = True

    def __init__(self, num_classes: int, *, accretion: bool = True, downsample: str = "conv",
                 final_map: int = 4, dropout: float = 0.5, in_channels: int = 3):
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        if downsample not in ("conv", "maxpool"):
            raise ValueError(f"downsample must be 'conv' (stride-2 convolution) or 'maxpool', got {downsample!r}")
        if final_map not in (3, 4):
            raise ValueError("final_map must be 4 (Keras 'same' conv 5, the authors' code) or 3 ('valid'), "
                             f"got {final_map!r}")
        self.options = dict(accretion=accretion, downsample=downsample, final_map=final_map, dropout=dropout)
        self.stem = _conv(in_channels, 16, 3, downsample)
        for p in range(1, 5):
            self.add_module(f"path{p}", Path(16, downsample))
        self.accretion = nn.ModuleDict()
        if accretion:
            for level, width in ((1, 16), (2, 32)):
                for i in range(1, len(self.PAIRS) + 1):
                    self.accretion[f"add{level}_{i}"] = Accretion(width)
        self.concat_bn = nn.BatchNorm2d(4 * Path.widths[-1], **KERAS_BN)
        self.conv5 = _conv(256, 256, 3, downsample, padding="same" if final_map == 4 else "valid")
        flat = 256 * final_map * final_map
        self.fc = nn.Sequential(OrderedDict(linear=nn.Linear(flat, 256), relu=nn.ReLU(inplace=True),
                                            dropout=nn.Dropout(dropout)))
        self.classifier = nn.Linear(256, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras defaults: Glorot-uniform kernels, zero biases, BatchNorm γ=1, β=0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()

    def lateral(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate map of the stem and the four paths, keyed ``stem``,
        ``p{path}.{level}`` (conv outputs), ``add{level}_{i}`` (accretion outputs) and
        ``concat``: what Figs. 3–4 show, and what the architecture figure draws."""
        maps = {"stem": self.stem(x)}
        for p in range(1, 5):
            maps[f"p{p}.1"] = getattr(self, f"path{p}")[0](maps["stem"])
        return self._accrete(maps)

    def _accrete(self, maps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """From the paths' level-1 maps ``p{path}.1``: the accretion layers (Eq. 8) after
        levels 1 and 2, levels 2 and 3 of the four paths, and the concat."""
        inputs = {p: maps[f"p{p}.1"] for p in range(1, 5)}
        for level in (1, 2, 3):
            if level > 1:
                for p in range(1, 5):
                    maps[f"p{p}.{level}"] = getattr(self, f"path{p}")[level - 1](inputs[p])
                    inputs[p] = maps[f"p{p}.{level}"]
            if level < 3 and len(self.accretion):
                for i, (dst, src) in enumerate(self.PAIRS, start=1):
                    key = f"add{level}_{i}"
                    maps[key] = self.accretion[key](maps[f"p{src}.{level}"], maps[f"p{dst}.{level}"])
                    inputs[dst] = maps[key]
        maps["concat"] = torch.cat([inputs[p] for p in range(1, 5)], dim=1)
        return maps

    def _level1_where_read(self, x: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """The paths' level-1 maps without the full stem map, or ``None`` where that is not
        exact (the max-pooling ablation, or a side not divisible by 4).

        A 1×1 stride-2 "same" conv has no padding and reads every other stem pixel, so
        three quarters of the 56×56 stem map never reach the output. The pixels it reads,
        stem rows/columns 2i, see input rows 4i…4i+2: the stem conv at stride 4, whose
        windows stay inside the input when the side is divisible by 4 (Keras pads only at
        the bottom/right there). Same weights and dot products, a quarter of the stem's
        work, and the four 1×1 convs run on 28×28 maps instead of striding over 56×56 ones
        (their backward pass would otherwise scatter gradients into four 56×56 maps)."""
        stem = self.stem.conv
        first = [getattr(self, f"path{p}")[0] for p in range(1, 5)]
        if (not self.skip_unread_stem or self.options["downsample"] != "conv"
                or x.shape[-2] % 4 or x.shape[-1] % 4 or stem.kernel_size != (3, 3) or stem.stride != (2, 2)
                or any(b.conv.kernel_size != (1, 1) or b.conv.stride != (2, 2) for b in first)):
            return None
        grid = self.stem.relu(F.conv2d(x, stem.weight, stem.bias, stride=4))
        return {f"p{p}.1": b.relu(F.conv2d(grid, b.conv.weight, b.conv.bias)) for p, b in enumerate(first, start=1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level1 = self._level1_where_read(x)
        maps = self.lateral(x) if level1 is None else self._accrete(level1)
        x = self.concat_bn(maps["concat"])
        x = self.conv5(x)
        x = self.fc(torch.flatten(x, 1))
        return self.classifier(x)


def _torchvision(name: str, num_classes: int) -> nn.Module:
    import torchvision.models as tvm

    if name == "googlenet":
        # aux heads are only used in training with their own loss; the paper counts the
        # plain network (Table V: 22 layers).
        return tvm.googlenet(weights=None, num_classes=num_classes, aux_logits=False, init_weights=True)
    return getattr(tvm, name)(weights=None, num_classes=num_classes)


def build(name: str, num_classes: int, **options) -> nn.Module:
    """Build model ``name`` (one of :data:`NAMES`) for ``num_classes`` classes.

    ``options`` go to :class:`LEARNet` (``accretion``, ``downsample``, ``final_map``,
    ``dropout``); the torchvision baselines take none. Random initialisation, no download.
    """
    key = name.lower().replace("-", "")
    if key not in NAMES:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(NAMES)}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if key == "learnet":
        return LEARNet(num_classes, **options)
    if options:
        raise ValueError(f"{name} takes no options (got {', '.join(options)}); options are LEARNet ablations")
    return _torchvision(key, num_classes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (what Keras' ``model.summary()`` and Table V count)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def count_layers(model: nn.Module) -> int:
    """Weight layers on the longest input→output path: conv and linear layers, the way
    VGG-16/19, GoogLeNet (22) and ResNet-18/34 get their names. LEARNet: stem + 3 path
    convs + conv 5 + FC + classifier = 7 (the paper's "14 layers" is not defined in its
    text; Table I has 11 rows)."""
    if isinstance(model, LEARNet):
        path = sum(isinstance(m, nn.Conv2d) for m in model.path1.modules())
        return 1 + path + 1 + sum(isinstance(m, nn.Linear) for m in model.modules())
    import torchvision.models as tvm

    if isinstance(model, tvm.GoogLeNet):
        from torchvision.models.googlenet import BasicConv2d, Inception

        # stem convs + the deepest branch of each inception module + the FC (Szegedy: 22)
        stem = sum(isinstance(m, BasicConv2d) for m in model.children())
        deep = sum(max(sum(isinstance(m, nn.Conv2d) for m in b.modules())
                       for b in (inc.branch1, inc.branch2, inc.branch3, inc.branch4))
                   for inc in model.modules() if isinstance(inc, Inception))
        return stem + deep + 1
    if isinstance(model, tvm.ResNet):
        # the shortcut 1×1 convs are beside the path, not on it
        blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
        per_block = sum(isinstance(m, nn.Conv2d) for m in blocks[0].children())
        return 1 + per_block * len(blocks) + 1
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
