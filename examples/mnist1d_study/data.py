"""Data for the study: MNIST-1D generated locally, scikit-learn digits, or a user's .npz.

MNIST-1D comes from ``mnist1d.data.make_dataset``, which builds every signal from the ten
templates inside the package (``get_templates``): nothing is downloaded (only the
package's ``get_dataset`` would download, and it is not used here).

Examples:
    >>> import jax, jax.numpy as jnp
    >>> x = jnp.ones((3, 40))
    >>> augment(jax.random.PRNGKey(0), x, shift=4, scale=0.2).shape
    (3, 40)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SPLITS = ("train", "val", "test")


def make_mnist1d(n_train: int, n_val: int, n_test: int, seed: int = 42) -> dict[str, np.ndarray]:
    """MNIST-1D (length-40 signals, 10 classes) split into train / validation / test."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    total = n_train + n_val + n_test
    args.num_samples = total + (-total) % 10  # make_dataset draws num_samples // 10 per class
    args.train_split = 1.0
    args.seed = seed
    ds = make_dataset(args)
    x, y = np.asarray(ds["x"], np.float32), np.asarray(ds["y"], np.int32)
    return _split(x, y, n_train, n_val, n_test)


def make_digits(seed: int = 0) -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits as 64-sample signals (rows read in order): 60/15/25 split."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int32)
    x = (x - x.mean()) / x.std()
    n_train, n_val = int(0.6 * len(x)), int(0.15 * len(x))
    return _split(x, y, n_train, n_val, len(x) - n_train - n_val)


def load_npz(path: str, val_fraction: float = 0.15, seed: int = 0) -> dict[str, np.ndarray]:
    """A user's ``.npz`` with ``x_train, y_train, x_test, y_test`` (features flattened to 1D).

    The validation split is cut from the training arrays.
    """
    with np.load(path) as f:
        arrays = {k: np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    x_tr = arrays["x_train"].reshape(len(arrays["x_train"]), -1).astype(np.float32)
    x_te = arrays["x_test"].reshape(len(arrays["x_test"]), -1).astype(np.float32)
    mean, std = x_tr.mean(), x_tr.std() + 1e-6
    order = np.random.default_rng(seed).permutation(len(x_tr))
    n_val = max(1, int(val_fraction * len(x_tr)))
    x_tr, y_tr = (x_tr[order] - mean) / std, arrays["y_train"][order].astype(np.int32)
    return {
        "x_train": x_tr[n_val:],
        "y_train": y_tr[n_val:],
        "x_val": x_tr[:n_val],
        "y_val": y_tr[:n_val],
        "x_test": (x_te - mean) / std,
        "y_test": arrays["y_test"].astype(np.int32),
    }


def _split(x: np.ndarray, y: np.ndarray, n_train: int, n_val: int, n_test: int) -> dict:
    a, b, c = n_train, n_train + n_val, n_train + n_val + n_test
    return {
        "x_train": x[:a],
        "y_train": y[:a],
        "x_val": x[a:b],
        "y_val": y[a:b],
        "x_test": x[b:c],
        "y_test": y[b:c],
    }


def augment(key: jax.Array, x: jax.Array, shift: int, scale: float) -> jax.Array:
    """Random circular shift by up to ``shift`` samples and amplitude scaling by 1 +- ``scale``.

    Each signal of the batch ``x`` ``[batch, length]`` gets its own shift and scale; the
    shape and dtype are kept.
    """
    key_shift, key_scale = jax.random.split(key)
    n, length = x.shape
    shifts = jax.random.randint(key_shift, (n, 1), -shift, shift + 1)
    idx = (jnp.arange(length)[None, :] - shifts) % length
    factors = jax.random.uniform(key_scale, (n, 1), x.dtype, 1.0 - scale, 1.0 + scale)
    return jnp.take_along_axis(x, idx, axis=1) * factors
