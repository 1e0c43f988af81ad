"""The one checker every load_state_dict of the brainstate side goes through."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jax_onecycle.stateful import _state_io

FN = "X.load_state_dict"


@pytest.mark.parametrize(
    "value, like, exc, match",
    [
        (True, jnp.zeros([], jnp.int32), TypeError, r"an integer in \[0, 2\*\*31 - 1\], got True"),
        ("1", jnp.zeros([], jnp.float32), TypeError, r"a finite real number, got '1'"),
        (None, jnp.zeros(2), TypeError, r"finite real numbers of shape \(2,\), got None"),
        (1 + 2j, jnp.zeros([]), TypeError, r"a finite real number, got \(1\+2j\)"),
        (np.ones(3), jnp.zeros(2), ValueError, r"of shape \(2,\), got shape \(3,\)"),
        (-1, jnp.zeros([], jnp.int32), ValueError, r"an integer in \[0, 2\*\*31 - 1\], got -1"),
        (2**31, jnp.zeros([], jnp.int32), ValueError, r"an integer in .*, got 2147483648"),
        (2.5, jnp.zeros([], jnp.int32), TypeError, r"an integer in \[0, 2\*\*31 - 1\], got 2.5"),
        (math.inf, jnp.zeros([]), ValueError, r"a finite real number, got inf"),
        (np.nan, jnp.zeros([]), ValueError, r"a finite real number, got nan"),
        (1e39, jnp.zeros([]), ValueError, r"a finite real number, got 1e\+39"),
        (
            np.ones(2, np.float32),
            jnp.zeros(2, bool),
            TypeError,
            r"booleans of shape \(2,\), got array\(\[1., 1.\], dtype=float32\)",
        ),
        (
            np.zeros(100),
            jnp.zeros(100, jnp.int32),
            TypeError,
            r"integers in \[0, 2\*\*31 - 1\] of shape \(100,\), got 'ndarray of shape \(100,\), "
            r"dtype float64'",
        ),  # a big value is described, not printed
    ],
)
def test_one_rule_and_one_message_for_every_entry(value, like, exc, match):
    with pytest.raises(exc, match=rf"^{FN}: `e` must be {match}\.$"):
        _state_io.leaf(FN, "e", value, like)


def test_infinity_only_where_the_owner_allows_it_and_never_nan():
    like = jnp.zeros([], jnp.float32)
    assert _state_io.leaf(FN, "best", math.inf, like, infinite=True) == math.inf
    with pytest.raises(ValueError, match=r"a real number \(no NaN\), got nan"):
        _state_io.leaf(FN, "best", math.nan, like, infinite=True)


def test_bool_buffers_are_taken_where_a_bool_is_replaced():
    got = _state_io.leaf(FN, "mask", [True, False], jnp.zeros(2, bool))
    assert got.dtype == np.bool_ and got.tolist() == [True, False]


def test_place_keeps_dtype_and_where_the_replaced_value_lives():
    loose = jnp.zeros(3, jnp.bfloat16)
    pinned = jax.device_put(jnp.zeros(3, jnp.bfloat16), jax.devices()[0])
    host = np.int32(0)
    a = _state_io.place(np.ones(3), loose)
    b = _state_io.place(np.ones(3), pinned)
    c = _state_io.place(np.asarray(7), host)
    assert a.dtype == b.dtype == jnp.bfloat16
    assert not a.committed and b.committed and b.sharding == pinned.sharding
    assert isinstance(c, np.ndarray) and c.dtype == np.int32 and int(c) == 7


def test_keys_and_settings_are_refused_naming_what_differs():
    with pytest.raises(
        ValueError, match=r"missing \['b'\], unexpected \['c'\]\. Nothing was loaded"
    ):
        _state_io.exact_keys(FN, {"a": 1, "c": 2}, ["a", "b"], "X")
    with pytest.raises(
        TypeError, match=r"`state_dict` must be a mapping \(a X state dict\), got 3"
    ):
        _state_io.exact_keys(FN, 3, ["a"], "X")
    with pytest.raises(ValueError, match=r"saved with gamma=0.5, but this X has gamma=0.1"):
        _state_io.same_settings(FN, {"step": 2, "gamma": 0.5}, {"step": 2, "gamma": 0.1}, "X")
    _state_io.same_settings(FN, {"m": (1, 2)}, {"m": [1, 2]}, "X")  # JSON spelling: equal
    assert _state_io.jsonable({"f": len, "t": (np.float32(0.5), np.int64(2))}) == {
        "f": "<len>",
        "t": [0.5, 2],
    }
