"""Built-in workload zoo, built in code from each architecture's published hyperparameters.

Conventions (see ``layers.py``): one row per weight-bearing layer; C and M are per group;
``macs = N*C*M*R*S*P*Q*G``, ``weights = C*M*R*S*G``. Pooling, normalisation, activations,
residual additions and biases are not layers and are not counted.

- Convolutions: P x Q is the output size from the usual formula
  ``floor((H + 2*pad - dilation*(k-1) - 1) / stride) + 1``; inputs are 224 x 224 RGB.
- Depthwise convolutions: C = 1, M = 1, G = channels (weights = channels * R * S).
- Linear layers (CiMLoop convention): C = in features, M = out features, P = tokens, Q = 1,
  R = S = 1. A classifier after global pooling has P = 1.
- Attention matmuls (both operands are activations, ``dynamic=True``): one matmul per head,
  the heads expressed as groups (G = heads). Q.K^T: C = head_dim, M = key tokens, P = query
  tokens; A.V: C = key tokens, M = head_dim, P = query tokens. Their "weights" (K^T, V) are
  written at run time and are excluded from ``Workload.total_weights``.
- Vocabulary matrices: GPT-2's token embedding is tied to its LM head and counted once, as the
  LM-head layer applied to every token (as CiMLoop does). Encoder models (BERT, MobileBERT)
  have no LM head; their embedding tables are kept as *lookup* layers (C = table rows,
  M = embedding width, P = Q = 1): the table's weights are counted, its MACs are nominal
  (rows * width, < 1% of the network). GPT-2 position embeddings are a lookup layer too.
  This matches the published parameter counts (which include embedding tables, not biases).

Default transformer sequence lengths: ViT-B/16 197 tokens (196 patches + class token),
BERT-base and MobileBERT 128 tokens, GPT-2 medium 1024 tokens (its full context, prefill).
Every builder takes ``batch`` (N) and ``bits`` (input/weight/output bits) keywords.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from problems.errors import ImcoptError
from problems.workloads.layers import Workload

__all__ = ["ZOO", "SETS", "get_workload", "list_workloads"]


def _out_size(size: int, k: int, stride: int, pad: int, dilation: int = 1) -> int:
    """Output size of a conv / pool window along one axis."""
    out = (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    if out <= 0:
        raise ImcoptError(f"zoo: window k={k} stride={stride} gives no output for size {size}")
    return out


class _Net:
    """Accumulates layer records for one network."""

    def __init__(self, name: str, batch: int = 1, bits: int = 8) -> None:
        for field_name, v in (("batch", batch), ("bits", bits)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ImcoptError(f"zoo workload '{name}': {field_name}={v!r} must be a "
                                  f"positive integer")
        self.name = name
        self.batch = batch
        self.bits = bits
        self.records: list[dict] = []

    def _add(self, layer: str, dynamic: bool = False, **dims: int) -> None:
        rec = {"layer": layer, "N": self.batch, "G": 1, "dynamic": dynamic,
               "input_bits": self.bits, "weight_bits": self.bits, "output_bits": self.bits}
        rec.update(dims)
        self.records.append(rec)

    def conv(self, layer: str, c_in: int, c_out: int, k: int, size: int, stride: int = 1,
             pad: int | None = None, groups: int = 1, dilation: int = 1) -> int:
        """Square conv on a ``size`` x ``size`` input; returns the output size."""
        pad = (dilation * (k - 1)) // 2 if pad is None else pad
        out = _out_size(size, k, stride, pad, dilation)
        self._add(layer, C=c_in // groups, M=c_out // groups, R=k, S=k, P=out, Q=out, G=groups,
                  h_stride=stride, w_stride=stride, h_dilation=dilation, w_dilation=dilation)
        return out

    def dwconv(self, layer: str, channels: int, k: int, size: int, stride: int = 1) -> int:
        """Depthwise conv: C = M = 1, G = channels."""
        return self.conv(layer, channels, channels, k, size, stride, groups=channels)

    def linear(self, layer: str, in_features: int, out_features: int, tokens: int = 1) -> None:
        """Fully connected layer applied to ``tokens`` vectors (P = tokens)."""
        self._add(layer, C=in_features, M=out_features, R=1, S=1, P=tokens, Q=1)

    def lookup(self, layer: str, rows: int, width: int) -> None:
        """Embedding table: weights counted, one nominal read (P = 1)."""
        self._add(layer, C=rows, M=width, R=1, S=1, P=1, Q=1)

    def attention(self, prefix: str, tokens: int, heads: int, head_dim: int) -> None:
        """Q.K^T and A.V of multi-head self-attention, one matmul per head (G = heads)."""
        self._add(f"{prefix}.qk", dynamic=True, C=head_dim, M=tokens, R=1, S=1, P=tokens, Q=1,
                  G=heads)
        self._add(f"{prefix}.av", dynamic=True, C=tokens, M=head_dim, R=1, S=1, P=tokens, Q=1,
                  G=heads)

    def build(self) -> Workload:
        return Workload.from_records(self.name, self.records, source="zoo")


def _pool(size: int, k: int, stride: int, pad: int = 0) -> int:
    return _out_size(size, k, stride, pad)


def _check_tokens(name: str, tokens: int, max_tokens: int | None = None) -> None:
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
        raise ImcoptError(f"zoo workload '{name}': seq_len={tokens!r} must be a positive integer")
    if max_tokens is not None and tokens > max_tokens:
        raise ImcoptError(f"zoo workload '{name}': seq_len={tokens} exceeds the model's "
                          f"{max_tokens} positions")


# ---------------------------------------------------------------------------------- CNNs
def alexnet(batch: int = 1, bits: int = 8) -> Workload:
    """AlexNet, torchvision variant (64-192-384-256-256 channels), 224 x 224: 0.71 GMACs."""
    n = _Net("alexnet", batch, bits)
    s = n.conv("features.0", 3, 64, 11, 224, stride=4, pad=2)
    s = _pool(s, 3, 2)
    s = n.conv("features.3", 64, 192, 5, s)
    s = _pool(s, 3, 2)
    s = n.conv("features.6", 192, 384, 3, s)
    s = n.conv("features.8", 384, 256, 3, s)
    s = n.conv("features.10", 256, 256, 3, s)
    s = _pool(s, 3, 2)  # 6 x 6 (adaptive pool is the identity at 224 x 224)
    n.linear("classifier.1", 256 * s * s, 4096)
    n.linear("classifier.4", 4096, 4096)
    n.linear("classifier.6", 4096, 1000)
    return n.build()


def vgg16(batch: int = 1, bits: int = 8) -> Workload:
    """VGG-16 (configuration D), 224 x 224."""
    n = _Net("vgg16", batch, bits)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    s, c, i = 224, 3, 0
    for v in cfg:
        if v == "M":
            s = _pool(s, 2, 2)
            continue
        i += 1
        s = n.conv(f"conv{i}", c, int(v), 3, s)
        c = int(v)
    n.linear("fc6", c * s * s, 4096)
    n.linear("fc7", 4096, 4096)
    n.linear("fc8", 4096, 1000)
    return n.build()


def _resnet(name: str, blocks: tuple[int, ...], bottleneck: bool, batch: int,
            bits: int) -> Workload:
    """torchvision ResNet (v1.5: the stride sits on the 3 x 3 conv of a bottleneck)."""
    n = _Net(name, batch, bits)
    s = n.conv("conv1", 3, 64, 7, 224, stride=2)
    s = _pool(s, 3, 2, 1)
    c_in = 64
    expansion = 4 if bottleneck else 1
    for li, (count, width) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for b in range(count):
            stride = 2 if (b == 0 and li > 1) else 1
            c_out = width * expansion
            p = f"layer{li}.{b}"
            s_in = s
            if bottleneck:
                s1 = n.conv(f"{p}.conv1", c_in, width, 1, s_in)
                s2 = n.conv(f"{p}.conv2", width, width, 3, s1, stride=stride)
                s = n.conv(f"{p}.conv3", width, c_out, 1, s2)
            else:
                s1 = n.conv(f"{p}.conv1", c_in, width, 3, s_in, stride=stride)
                s = n.conv(f"{p}.conv2", width, width, 3, s1)
            if stride != 1 or c_in != c_out:
                n.conv(f"{p}.downsample", c_in, c_out, 1, s_in, stride=stride)
            c_in = c_out
    n.linear("fc", c_in, 1000)
    return n.build()


def resnet18(batch: int = 1, bits: int = 8) -> Workload:
    """ResNet-18 (torchvision), 224 x 224."""
    return _resnet("resnet18", (2, 2, 2, 2), False, batch, bits)


def resnet50(batch: int = 1, bits: int = 8) -> Workload:
    """ResNet-50 (torchvision, v1.5), 224 x 224: 4.1 GMACs, 25.6 M parameters."""
    return _resnet("resnet50", (3, 4, 6, 3), True, batch, bits)


def _make_divisible(v: float, divisor: int = 8) -> int:
    """Channel rounding used by the MobileNet reference code."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def mobilenet_v2(batch: int = 1, bits: int = 8) -> Workload:
    """MobileNetV2 (width 1.0), 224 x 224: 0.30 GMACs, 3.5 M parameters."""
    n = _Net("mobilenet_v2", batch, bits)
    s = n.conv("features.0", 3, 32, 3, 224, stride=2)
    c_in, idx = 32, 1
    for t, c, reps, stride0 in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for r in range(reps):
            stride = stride0 if r == 0 else 1
            hidden = c_in * t
            p = f"features.{idx}"
            if t != 1:
                n.conv(f"{p}.expand", c_in, hidden, 1, s)
            s = n.dwconv(f"{p}.dw", hidden, 3, s, stride)
            n.conv(f"{p}.project", hidden, c, 1, s)
            c_in, idx = c, idx + 1
    n.conv(f"features.{idx}", c_in, 1280, 1, s)
    n.linear("classifier", 1280, 1000)
    return n.build()


def mobilenet_v3(batch: int = 1, bits: int = 8) -> Workload:
    """MobileNetV3-Large (torchvision), 224 x 224: 0.22 GMACs, 5.4 M parameters.

    Squeeze-and-excitation FCs run on the pooled 1 x 1 map (P = Q = 1).
    """
    n = _Net("mobilenet_v3", batch, bits)
    s = n.conv("features.0", 3, 16, 3, 224, stride=2)
    # (kernel, expanded, out, squeeze-excite, stride)
    cfg = ((3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1),
           (5, 72, 40, True, 2), (5, 120, 40, True, 1), (5, 120, 40, True, 1),
           (3, 240, 80, False, 2), (3, 200, 80, False, 1), (3, 184, 80, False, 1),
           (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1),
           (5, 672, 160, True, 2), (5, 960, 160, True, 1), (5, 960, 160, True, 1))
    c_in = 16
    for i, (k, exp, c_out, se, stride) in enumerate(cfg, 1):
        p = f"features.{i}"
        if exp != c_in:
            n.conv(f"{p}.expand", c_in, exp, 1, s)
        s = n.dwconv(f"{p}.dw", exp, k, s, stride)
        if se:
            squeeze = _make_divisible(exp // 4, 8)
            n.linear(f"{p}.se.fc1", exp, squeeze)
            n.linear(f"{p}.se.fc2", squeeze, exp)
        n.conv(f"{p}.project", exp, c_out, 1, s)
        c_in = c_out
    n.conv("features.16", c_in, 960, 1, s)
    n.linear("classifier.0", 960, 1280)
    n.linear("classifier.3", 1280, 1000)
    return n.build()


def densenet201(batch: int = 1, bits: int = 8) -> Workload:
    """DenseNet-201 (growth 32, blocks 6-12-48-32, bottleneck 4x), 224 x 224."""
    n = _Net("densenet201", batch, bits)
    growth, bn_size = 32, 4
    s = n.conv("conv0", 3, 64, 7, 224, stride=2)
    s = _pool(s, 3, 2, 1)
    c = 64
    blocks = (6, 12, 48, 32)
    for bi, count in enumerate(blocks, 1):
        for li in range(1, count + 1):
            p = f"denseblock{bi}.layer{li}"
            n.conv(f"{p}.conv1", c, bn_size * growth, 1, s)
            n.conv(f"{p}.conv2", bn_size * growth, growth, 3, s)
            c += growth
        if bi < len(blocks):
            n.conv(f"transition{bi}", c, c // 2, 1, s)
            c //= 2
            s = _pool(s, 2, 2)
    n.linear("classifier", c, 1000)
    return n.build()


# --------------------------------------------------------------------------- transformers
def _encoder_block(n: _Net, p: str, d: int, ffn: int, heads: int, tokens: int) -> None:
    """Standard pre/post-LN transformer block: q, k, v, attention, out-proj, 2-layer MLP."""
    for q in ("q", "k", "v"):
        n.linear(f"{p}.attn.{q}", d, d, tokens)
    n.attention(f"{p}.attn", tokens, heads, d // heads)
    n.linear(f"{p}.attn.proj", d, d, tokens)
    n.linear(f"{p}.mlp.fc1", d, ffn, tokens)
    n.linear(f"{p}.mlp.fc2", ffn, d, tokens)


def vit_b16(batch: int = 1, bits: int = 8, seq_len: int = 197) -> Workload:
    """ViT-B/16 at 224 x 224: patch-embedding conv, 12 blocks (d=768, 12 heads, MLP 3072),
    classifier on the class token. ``seq_len`` defaults to 196 patches + 1 class token."""
    _check_tokens("vit_b16", seq_len)
    n = _Net("vit_b16", batch, bits)
    n.conv("patch_embed", 3, 768, 16, 224, stride=16, pad=0)
    for i in range(12):
        _encoder_block(n, f"blocks.{i}", 768, 3072, 12, seq_len)
    n.linear("head", 768, 1000)
    return n.build()


def bert_base(batch: int = 1, bits: int = 8, seq_len: int = 128) -> Workload:
    """BERT-base (12 layers, d=768, 12 heads, FFN 3072, vocab 30522), ``seq_len`` tokens
    (default 128): embedding lookups, encoder, pooler (class token)."""
    _check_tokens("bert_base", seq_len, 512)
    n = _Net("bert_base", batch, bits)
    n.lookup("embeddings.word", 30522, 768)
    n.lookup("embeddings.position", 512, 768)
    n.lookup("embeddings.token_type", 2, 768)
    for i in range(12):
        _encoder_block(n, f"encoder.{i}", 768, 3072, 12, seq_len)
    n.linear("pooler", 768, 768)
    return n.build()


def gpt2_medium(batch: int = 1, bits: int = 8, seq_len: int = 1024) -> Workload:
    """GPT-2 medium (24 layers, d=1024, 16 heads, MLP 4096, vocab 50257), prefill of
    ``seq_len`` tokens (default 1024, the full context). The LM head (tied to the token
    embedding, counted once) runs on every token."""
    _check_tokens("gpt2_medium", seq_len, 1024)
    n = _Net("gpt2_medium", batch, bits)
    n.lookup("wpe", 1024, 1024)
    for i in range(24):
        _encoder_block(n, f"h.{i}", 1024, 4096, 16, seq_len)
    n.linear("lm_head", 1024, 50257, seq_len)
    return n.build()


def mobilebert(batch: int = 1, bits: int = 8, seq_len: int = 128) -> Workload:
    """MobileBERT (24 layers, hidden 512, bottleneck 128, 4 heads, 4 stacked FFNs of 512,
    128-wide embedding with a trigram 384 -> 512 transformation, vocab 30522), ``seq_len``
    tokens (default 128). Key/query share the attention bottleneck; the value projection
    reads the 512-wide layer input (as in the reference implementation)."""
    _check_tokens("mobilebert", seq_len, 512)
    n = _Net("mobilebert", batch, bits)
    d, b, ffn, heads, t = 512, 128, 512, 4, seq_len
    n.lookup("embeddings.word", 30522, 128)
    n.lookup("embeddings.position", 512, d)
    n.lookup("embeddings.token_type", 2, d)
    n.linear("embeddings.transform", 3 * 128, d, t)
    for i in range(24):
        p = f"encoder.{i}"
        n.linear(f"{p}.bottleneck.input", d, b, t)
        n.linear(f"{p}.bottleneck.attention", d, b, t)
        n.linear(f"{p}.attn.q", b, b, t)
        n.linear(f"{p}.attn.k", b, b, t)
        n.linear(f"{p}.attn.v", d, b, t)
        n.attention(f"{p}.attn", t, heads, b // heads)
        n.linear(f"{p}.attn.proj", b, b, t)
        for f in range(4):
            n.linear(f"{p}.ffn{f}.fc1", b, ffn, t)
            n.linear(f"{p}.ffn{f}.fc2", ffn, b, t)
        n.linear(f"{p}.bottleneck.output", b, d, t)
    return n.build()


#: zoo name -> builder (keyword parameters: batch, bits; transformers also seq_len)
ZOO: dict[str, Callable[..., Workload]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3": mobilenet_v3,
    "densenet201": densenet201,
    "vit_b16": vit_b16,
    "gpt2_medium": gpt2_medium,
    "mobilebert": mobilebert,
    "bert_base": bert_base,
}

#: named workload sets used by the studies
SETS: dict[str, tuple[str, ...]] = {
    "paper-4": ("resnet18", "vgg16", "alexnet", "mobilenet_v3"),
    "paper-9": ("resnet18", "vgg16", "alexnet", "mobilenet_v3",
                "gpt2_medium", "mobilebert", "densenet201", "resnet50", "vit_b16"),
}


def list_workloads() -> list[str]:
    """Names of the built-in networks, in zoo order."""
    return list(ZOO)


def get_workload(name: str, **params: int) -> Workload:
    """Build zoo network ``name`` (keyword parameters as in its builder, e.g. seq_len)."""
    if name not in ZOO:
        raise ImcoptError(f"unknown zoo workload '{name}'; known: {', '.join(ZOO)}")
    builder = ZOO[name]
    allowed = list(inspect.signature(builder).parameters)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ImcoptError(f"zoo workload '{name}': unknown parameter(s) {unknown}; "
                          f"allowed: {', '.join(allowed)}")
    return builder(**params)
