"""The ssl-pool networks: 1-channel CNN backbones and which of their layers is the embedding."""

from __future__ import annotations

from ..errors import ColdstartError

ARCHS = ("small", "small-grid", "resnet18", "tiny")
#: What the embedder returns: "final" = the backbone's pooled output; "stageK-gridG" (small and
#: small-grid only) = the output of stage K (1-4) average-pooled on a G x G grid.
FEATURES = ("final", "stage1-grid4", "stage1-grid8", "stage2-grid2", "stage2-grid4", "stage2-grid8",
            "stage3-grid2", "stage3-grid4", "stage4-grid2")
_STAGE_CH = {1: 32, 2: 64, 3: 128, 4: 256}


def build_backbone(arch: str):
    """A 1-channel CNN whose forward returns pooled features.

    small: 256-d (global average), small-grid: 1024-d (2x2 average grid), resnet18: 512-d, tiny: 128-d.
    """
    from torch import nn

    if arch in ("small", "small-grid"):  # 4 stride-2 stages: the receptive field covers a 64 px image
        def conv(i, o, s=1):
            return [nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        layers = conv(1, 32)
        for i, o in ((32, 32), (32, 64), (64, 128), (128, 256)):
            layers += conv(i, o, 2) + conv(o, o)
        g = 2 if arch == "small-grid" else 1  # small-grid keeps a coarse 2x2 layout (radiographs are aligned)
        m = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(g), nn.Flatten())
        m.out_dim = 256 * g * g
        return m

    if arch == "resnet18":
        import torchvision

        m = torchvision.models.resnet18(weights=None)
        m.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        m.fc = nn.Identity()
        m.out_dim = 512
        return m
    if arch == "tiny":
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]
        m = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten())
        m.out_dim = 128
        return m
    raise ColdstartError(f"arch={arch!r} is not a known ssl-pool architecture: choose one of {list(ARCHS)}")


def parse_features(features: str, arch: str) -> tuple[int, int] | None:
    """``(stage, grid)`` of a feature spec, or None for "final"; validates it for ``arch``."""
    if features not in FEATURES:
        raise ColdstartError(f"features={features!r} is unknown: choose one of {list(FEATURES)}")
    if features == "final":
        return None
    if arch not in ("small", "small-grid"):
        raise ColdstartError(f"features={features!r} needs arch 'small' or 'small-grid' (got {arch!r}): "
                             "use features='final'")
    st, gr = features.split("-")
    return int(st[len("stage"):]), int(gr[len("grid"):])


def feature_dim(backbone, features: str, arch: str) -> int:
    """Dimension of the embedding ``features`` of ``backbone``."""
    sg = parse_features(features, arch)
    return backbone.out_dim if sg is None else _STAGE_CH[sg[0]] * sg[1] ** 2


def extract_features(backbone, x, features: str = "final", arch: str = "small-grid"):
    """Embedding of a batch ``x`` (N, 1, H, W): the pooled output, or a pooled mid-level map."""
    from torch.nn import functional as F

    sg = parse_features(features, arch)
    if sg is None:
        return backbone(x)
    stage, grid = sg
    h = backbone[: 3 + 6 * stage](x)  # stem = 3 modules, each stage = 6 (two conv-bn-relu)
    return F.adaptive_avg_pool2d(h, grid).flatten(1)
