"""A small residual 1D CNN with batch normalisation, in plain JAX (float32).

Layout: a stride-2 stem convolution, then residual blocks (conv-BN-ReLU-conv-BN plus the
skip, ReLU); a block that changes width or stride projects its skip with a 1x1 conv. Global
average pooling and a linear head give the logits. Parameters and BatchNorm running
statistics are separate pytrees, so weight decay and the optimizer see only parameters.

Examples:
    >>> import jax, jax.numpy as jnp
    >>> params, stats = init_cnn(jax.random.PRNGKey(0), widths=(8, 16), n_classes=10)
    >>> logits, new_stats = apply_cnn(params, stats, jnp.zeros((4, 40)), train=True)
    >>> logits.shape, logits.dtype
    ((4, 10), dtype('float32'))
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

BN_MOMENTUM = 0.9
BN_EPS = 1e-5


def _conv_init(key: jax.Array, width: int, c_in: int, c_out: int) -> jax.Array:
    std = jnp.sqrt(2.0 / (width * c_in))
    return (jax.random.normal(key, (width, c_in, c_out)) * std).astype(jnp.float32)


def _bn_init(channels: int) -> tuple[dict, dict]:
    params = {"scale": jnp.ones(channels, jnp.float32), "bias": jnp.zeros(channels, jnp.float32)}
    stats = {"mean": jnp.zeros(channels, jnp.float32), "var": jnp.ones(channels, jnp.float32)}
    return params, stats


def init_cnn(
    key: jax.Array, widths: tuple[int, ...] = (16, 32), n_classes: int = 10, stem_width: int = 5
) -> tuple[dict, dict]:
    """Parameters and BatchNorm statistics: a stem to ``widths[0]``, one block per width.

    The first block keeps the stem's resolution; each later block halves it (stride 2).
    """
    keys = iter(jax.random.split(key, 3 * len(widths) + 2))
    bn_p, bn_s = _bn_init(widths[0])
    params = {"stem": {"w": _conv_init(next(keys), stem_width, 1, widths[0]), "bn": bn_p}}
    stats = {"stem": bn_s, "blocks": []}
    params["blocks"] = []
    c_in = widths[0]
    for c_out in widths:
        p1, s1 = _bn_init(c_out)
        p2, s2 = _bn_init(c_out)
        block = {
            "w1": _conv_init(next(keys), 3, c_in, c_out),
            "bn1": p1,
            "w2": _conv_init(next(keys), 3, c_out, c_out),
            "bn2": p2,
        }
        key_proj = next(keys)
        if c_out != c_in:
            block["proj"] = _conv_init(key_proj, 1, c_in, c_out)
        params["blocks"].append(block)
        stats["blocks"].append({"bn1": s1, "bn2": s2})
        c_in = c_out
    w_head = jax.random.normal(next(keys), (c_in, n_classes)) * jnp.sqrt(1.0 / c_in)
    params["head"] = {"w": w_head.astype(jnp.float32), "b": jnp.zeros(n_classes, jnp.float32)}
    return params, stats


def _conv(x: jax.Array, w: jax.Array, stride: int = 1) -> jax.Array:
    """'SAME' 1D convolution as one matmul over stacked shifted copies (im2col).

    Under ``jax.vmap`` over weights this stays a batched matmul; ``conv_general_dilated``
    would become a grouped convolution, several times slower on a CPU.
    """
    width = w.shape[0]
    length = x.shape[1]
    left = (width - 1) // 2
    padded = jnp.pad(x, ((0, 0), (left, width - 1 - left), (0, 0)))
    patches = jnp.concatenate([padded[:, i : i + length] for i in range(width)], axis=-1)
    return patches[:, ::stride] @ w.reshape(-1, w.shape[-1])


def _bn(x: jax.Array, p: dict, s: dict, train: bool) -> tuple[jax.Array, dict]:
    if train:
        mean, var = jnp.mean(x, axis=(0, 1)), jnp.var(x, axis=(0, 1))
        new = {
            "mean": BN_MOMENTUM * s["mean"] + (1 - BN_MOMENTUM) * mean,
            "var": BN_MOMENTUM * s["var"] + (1 - BN_MOMENTUM) * var,
        }
    else:
        mean, var, new = s["mean"], s["var"], s
    y = (x - mean) * jax.lax.rsqrt(var + BN_EPS) * p["scale"] + p["bias"]
    return y, new


def apply_cnn(params: dict, stats: dict, x: jax.Array, train: bool) -> tuple[jax.Array, dict]:
    """Logits ``[batch, classes]`` of signals ``x`` ``[batch, length]``, and the new statistics.

    ``train=True`` normalises with the batch's statistics and updates the running ones;
    ``train=False`` uses the running statistics and returns them unchanged.
    """
    h = x[..., None]
    h, s_stem = _bn(_conv(h, params["stem"]["w"], 2), params["stem"]["bn"], stats["stem"], train)
    h = jax.nn.relu(h)
    new_blocks = []
    for i, (p, s) in enumerate(zip(params["blocks"], stats["blocks"])):
        stride = 1 if i == 0 else 2
        y, s1 = _bn(_conv(h, p["w1"], stride), p["bn1"], s["bn1"], train)
        y, s2 = _bn(_conv(jax.nn.relu(y), p["w2"]), p["bn2"], s["bn2"], train)
        skip = h if "proj" not in p else _conv(h, p["proj"], stride)
        if "proj" not in p and stride != 1:
            skip = h[:, ::stride]
        h = jax.nn.relu(y + skip)
        new_blocks.append({"bn1": s1, "bn2": s2})
    logits = jnp.mean(h, axis=1) @ params["head"]["w"] + params["head"]["b"]
    return logits, {"stem": s_stem, "blocks": new_blocks}
