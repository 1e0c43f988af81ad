"""Generate golden one-cycle schedule values from the real reference libraries.

Writes ``tests/golden/onecycle.json``.  Run from the repository root::

    python tests/make_golden.py              # every reference
    python tests/make_golden.py --only optax  # one reference; the others' lines kept as they are

Every value is produced by running the reference implementation itself (torch
``OneCycleLR``, braintools ``OneCycleLR``, optax's one-cycle schedules, a real
fastai ``Learner.fit_one_cycle`` and DeepSpeed's ``OneCycle``); nothing is
re-derived here.  ``values[k]`` is what the k-th optimizer update uses
(k = 0 is the first update), i.e. what optax passes to a schedule as ``count``.
The output is deterministic.  JAX runs with ``jax_enable_x64`` (set through
brainstate, see below) so that the two JAX references (braintools, optax)
compute in float64 like the others; with JAX's default float32 they differ
from these values by ~1e-7 relative.

References needed besides torch (2.13.0, CPU; never let pip replace it), jax,
optax 0.2.8 and braintools 0.3.0:

fastai 2.8.12 (its metadata requires torch, torchvision and spacy, so it goes
in with ``--no-deps``; torchvision and spacy are not needed: nothing imported
here imports them)::

    pip install --no-deps fastai==2.8.12
    pip install fastcore fastprogress fastdownload fasttransform plum-dispatch \
        requests pandas scipy scikit-learn matplotlib pyyaml pillow

(none of the second line's packages depends on torch.  This venv already had
fastcore, fastprogress, fastdownload, scipy, matplotlib, pyyaml and pillow; the
imports failed on requests, pandas, plum-dispatch, fasttransform (which pins
plum-dispatch<2.10) and scikit-learn until those were added.)

DeepSpeed 0.19.8 (from the source distribution, no ops built)::

    pip download --no-deps deepspeed==0.19.8
    DS_BUILD_OPS=0 pip install --no-deps --no-build-isolation deepspeed-0.19.8.tar.gz
    pip install --no-deps psutil hjson einops

(importing ``deepspeed.runtime.lr_schedules`` also imports pydantic, msgpack,
packaging, tqdm and numpy, which the venv already had; ninja and py-cpuinfo
are not needed.)  ``DS_ACCELERATOR=cpu`` is set below before the import so
DeepSpeed does not probe for (and warn about) a GPU.
"""

import json
import os
import sys
import warnings

os.environ.setdefault("DS_ACCELERATOR", "cpu")

import brainstate  # noqa: E402
import braintools  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "onecycle.json")

LR = "onecycle_schedule"
MOM = "onecycle_momentum_schedule"
DS_LR = "deepspeed_onecycle_schedule"
DS_MOM = "deepspeed_onecycle_momentum_schedule"


def _lr_kwargs(
    max_lr,
    total_steps,
    pct_start,
    anneal,
    div,
    final_div,
    three_phase,
    pct_final,
    convention,
    epochs=None,
    steps_per_epoch=None,
):
    return {
        "max_lr": max_lr,
        "total_steps": total_steps,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "pct_start": pct_start,
        "anneal_strategy": anneal,
        "div_factor": div,
        "final_div_factor": final_div,
        "three_phase": three_phase,
        "pct_final": pct_final,
        "convention": convention,
    }


def _mom_kwargs(
    total_steps,
    base,
    top,
    pct_start,
    anneal,
    three_phase,
    pct_final,
    convention,
    epochs=None,
    steps_per_epoch=None,
):
    return {
        "total_steps": total_steps,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "base_momentum": base,
        "max_momentum": top,
        "pct_start": pct_start,
        "anneal_strategy": anneal,
        "three_phase": three_phase,
        "pct_final": pct_final,
        "convention": convention,
    }


def _case(cid, reference, function, kwargs, steps, values):
    assert len(steps) == len(values)
    return {
        "id": cid,
        "reference": reference,
        "function": function,
        "kwargs": kwargs,
        "steps": [int(s) for s in steps],
        "values": [float(v) for v in values],
    }


def _tag(max_lr, div, final_div, default_divs):
    tag = ""
    if (div, final_div) != default_divs:
        tag += f"-div{div:g}-fdiv{final_div:g}"
    if max_lr != 0.1:
        tag += f"-lr{max_lr:g}"
    return tag


# (T, pct_start) pairs shared by torch / braintools / optax: every T of the
# grid, pct_start 0.3 / 0.25 / 0.05 (near 0) / 0.95 (near 1).
PAIRS = [
    (1, 0.3),
    (1, 0.95),
    (2, 0.3),
    (2, 0.05),
    (2, 0.95),
    (7, 0.3),
    (7, 0.05),
    (10, 0.25),
    (10, 0.05),
    (10, 0.95),
    (100, 0.3),
    (100, 0.25),
    (100, 0.05),
    (100, 0.95),
    (1000, 0.3),
]
# pct_start * T == 1 exactly: torch divides by (end_step - start_step) == 0.
TORCH_DEGENERATE = [(4, 0.25), (20, 0.05)]
EXTRA_DIVS = [(7, 0.3), (100, 0.25)]  # run with div_factor=10, final_div_factor=100


# --------------------------------------------------------------------------- torch
def _run_torch(
    n_steps,
    total_steps,
    epochs,
    steps_per_epoch,
    max_lr,
    pct,
    anneal,
    div,
    final_div,
    three_phase,
    base_mom,
    max_mom,
):
    from torch.optim.lr_scheduler import OneCycleLR

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=max_lr, momentum=0.9)
    sched = OneCycleLR(
        opt,
        max_lr=max_lr,
        total_steps=total_steps,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        pct_start=pct,
        anneal_strategy=anneal,
        cycle_momentum=True,
        base_momentum=base_mom,
        max_momentum=max_mom,
        div_factor=div,
        final_div_factor=final_div,
        three_phase=three_phase,
    )
    lrs, moms = [], []
    for _ in range(n_steps):
        lrs.append(float(opt.param_groups[0]["lr"]))
        moms.append(float(opt.param_groups[0]["momentum"]))
        param.grad = torch.ones(1)
        opt.step()
        sched.step()
    return lrs, moms


def torch_cases(skipped):
    cases = []
    conv, defaults = "torch", (25.0, 1e4)

    def lr_case(
        T,
        pct,
        anneal,
        three_phase=False,
        max_lr=0.1,
        div=25.0,
        final_div=1e4,
        epochs=None,
        spe=None,
    ):
        n = T if T is not None else epochs * spe
        cid = f"torch-lr-T{n}-p{pct:g}-{anneal}" + ("-3ph" if three_phase else "")
        cid += _tag(max_lr, div, final_div, defaults)
        if epochs is not None:
            cid += f"-e{epochs}x{spe}"
        try:
            lrs, _ = _run_torch(
                n, T, epochs, spe, max_lr, pct, anneal, div, final_div, three_phase, 0.85, 0.95
            )
        except Exception as e:  # degenerate grid point: record why and skip
            skipped.append({"id": cid, "reason": f"{type(e).__name__}: {e}"})
            return
        kw = _lr_kwargs(
            max_lr, T, pct, anneal, div, final_div, three_phase, None, conv, epochs, spe
        )
        cases.append(_case(cid, "torch", LR, kw, range(n), lrs))

    def mom_case(T, pct, anneal, base, top, three_phase=False, epochs=None, spe=None):
        n = T if T is not None else epochs * spe
        cid = f"torch-mom-T{n}-p{pct:g}-{anneal}" + ("-3ph" if three_phase else "")
        cid += f"-m{base:g}-{top:g}"
        if epochs is not None:
            cid += f"-e{epochs}x{spe}"
        try:
            _, moms = _run_torch(
                n, T, epochs, spe, 0.1, pct, anneal, 25.0, 1e4, three_phase, base, top
            )
        except Exception as e:
            skipped.append({"id": cid, "reason": f"{type(e).__name__}: {e}"})
            return
        kw = _mom_kwargs(T, base, top, pct, anneal, three_phase, None, conv, epochs, spe)
        cases.append(_case(cid, "torch", MOM, kw, range(n), moms))

    for anneal in ("cos", "linear"):
        for T, pct in PAIRS + TORCH_DEGENERATE:
            lr_case(T, pct, anneal)
        for T, pct in EXTRA_DIVS:
            lr_case(T, pct, anneal, div=10.0, final_div=100.0)
    lr_case(100, 0.3, "cos", max_lr=3.0)
    for anneal in ("cos", "linear"):
        for T, pct in [
            (1, 0.3),
            (2, 0.3),
            (7, 0.3),
            (10, 0.25),
            (10, 0.95),
            (100, 0.3),
            (100, 0.05),
            (100, 0.95),
        ] + TORCH_DEGENERATE:
            lr_case(T, pct, anneal, three_phase=True)
    lr_case(1000, 0.25, "cos", three_phase=True)
    lr_case(10, 0.25, "cos", three_phase=True, div=10.0, final_div=100.0)
    lr_case(None, 0.3, "cos", epochs=3, spe=7)

    for T, pct in [(1, 0.3), (2, 0.05), (7, 0.3), (10, 0.25), (100, 0.3), (100, 0.05), (100, 0.95)]:
        mom_case(T, pct, "cos", 0.85, 0.95)
    for T, pct in [(7, 0.3), (100, 0.3)]:
        mom_case(T, pct, "linear", 0.85, 0.95)
    for T, pct in [(7, 0.3), (100, 0.3), (10, 0.95)]:
        mom_case(T, pct, "cos", 0.85, 0.95, three_phase=True)
    mom_case(10, 0.25, "linear", 0.85, 0.95, three_phase=True)
    for T, pct in [(10, 0.25), (100, 0.3)]:
        mom_case(T, pct, "cos", 0.8, 0.99)
    mom_case(100, 0.3, "linear", 0.8, 0.99, three_phase=True)
    mom_case(1000, 0.3, "cos", 0.85, 0.95)
    mom_case(None, 0.3, "cos", 0.85, 0.95, epochs=3, spe=7)
    return cases


# ---------------------------------------------------------------------- braintools
def braintools_cases(skipped):
    assert jax.config.jax_enable_x64
    cases = []
    conv, defaults = "braintools", (25.0, 1e4)

    def run(T, pct, anneal, max_lr=0.1, div=25.0, final_div=1e4):
        cid = f"braintools-lr-T{T}-p{pct:g}-{anneal}" + _tag(max_lr, div, final_div, defaults)
        sched = braintools.optim.OneCycleLR(
            max_lr,
            T,
            pct_start=pct,
            anneal_strategy=anneal,
            div_factor=div,
            final_div_factor=final_div,
        )
        steps = list(range(T)) + [T, T + 1, T + 5]
        values = []
        for k in range(T + 6):
            if k in steps:
                lr = sched.get_lr()[0]
                assert lr.dtype == jnp.float64
                values.append(float(lr))
            sched.step()
        kw = _lr_kwargs(max_lr, T, pct, anneal, div, final_div, False, None, conv)
        cases.append(_case(cid, "braintools", LR, kw, steps, values))

    for anneal in ("cos", "linear"):
        for T, pct in PAIRS:
            run(T, pct, anneal)
        for T, pct in EXTRA_DIVS:
            run(T, pct, anneal, div=10.0, final_div=100.0)
    run(100, 0.3, "cos", max_lr=3.0)
    run(1000, 0.25, "linear", div=10.0, final_div=100.0)
    return cases


# --------------------------------------------------------------------------- optax
def optax_cases(skipped):
    import optax

    assert jax.config.jax_enable_x64
    cases = []
    conv, defaults = "optax", (25.0, 1e4)

    def run(T, pct, anneal, three_phase=False, pct_final=None, max_lr=0.1, div=25.0, final_div=1e4):
        cid = f"optax-lr-T{T}-p{pct:g}-{anneal}"
        if three_phase:
            cid += f"-3ph-pf{pct_final:g}"
        cid += _tag(max_lr, div, final_div, defaults)
        b1 = int(pct * T)
        if not three_phase and anneal == "cos":
            if b1 == T:
                skipped.append(
                    {"id": cid, "reason": f"boundary keys collide: int(pct*T)={b1} == T"}
                )
                return
            sched = optax.cosine_onecycle_schedule(T, max_lr, pct, div, final_div)
        elif not three_phase:
            # optax.linear_onecycle_schedule is three-phase, pct_final=0.85 by default:
            # convention="optax" with a linear anneal reproduces it without three_phase=True.
            b2 = int(0.85 * T)
            if len({b1, b2, T}) < 3:
                skipped.append(
                    {
                        "id": cid,
                        "reason": f"boundary keys collide: int(pct*T)={b1}, "
                        f"int(0.85*T)={b2}, T={T}",
                    }
                )
                return
            if not pct < 0.85:
                skipped.append(
                    {
                        "id": cid,
                        "reason": f"pct_start={pct:g} >= pct_final=0.85: "
                        "refused (optax re-sorts the boundaries)",
                    }
                )
                return
            sched = optax.linear_onecycle_schedule(T, max_lr, pct, 0.85, div, final_div)
        else:
            b2 = int(pct_final * T)
            if len({b1, b2, T}) < 3:
                skipped.append(
                    {
                        "id": cid,
                        "reason": f"boundary keys collide: int(pct*T)={b1}, "
                        f"int(pct_final*T)={b2}, T={T}",
                    }
                )
                return
            if not pct < pct_final <= 1.0:
                skipped.append(
                    {
                        "id": cid,
                        "reason": f"pct_final={pct_final:g} outside "
                        f"(pct_start, 1]: boundaries get re-sorted",
                    }
                )
                return
            if anneal == "linear":
                sched = optax.linear_onecycle_schedule(T, max_lr, pct, pct_final, div, final_div)
            else:
                sched = optax.piecewise_interpolate_schedule(
                    "cosine", max_lr / div, {b1: div, b2: 1.0 / div, T: 1.0 / final_div}
                )
        steps = jnp.arange(T + 6)
        values = jax.vmap(sched)(steps)
        assert values.dtype == jnp.float64
        kw = _lr_kwargs(max_lr, T, pct, anneal, div, final_div, three_phase, pct_final, conv)
        cases.append(
            _case(cid, "optax", LR, kw, [int(s) for s in steps], [float(v) for v in values])
        )

    for anneal in ("cos", "linear"):
        for T, pct in PAIRS:
            run(T, pct, anneal)
        for T, pct in EXTRA_DIVS:
            run(T, pct, anneal, div=10.0, final_div=100.0)
    run(100, 0.3, "cos", max_lr=3.0)
    three = [
        (1, 0.3),
        (2, 0.3),
        (7, 0.3),
        (7, 0.05),
        (10, 0.25),
        (10, 0.05),
        (100, 0.3),
        (100, 0.25),
        (100, 0.05),
        (100, 0.95),
    ]
    for anneal in ("cos", "linear"):
        for T, pct in three:
            run(T, pct, anneal, three_phase=True, pct_final=0.85)
            run(T, pct, anneal, three_phase=True, pct_final=round(2 * pct, 10))
        run(10, 0.25, anneal, three_phase=True, pct_final=0.85, div=10.0, final_div=100.0)
    run(1000, 0.3, "linear", three_phase=True, pct_final=0.85)
    return cases


# -------------------------------------------------------------------------- fastai
def _run_fastai(n_epoch, n_iter, lr_max, div, div_final, pct, moms):
    import fastai.callback.progress  # noqa: F401  (patches Learner.no_bar)
    import fastai.callback.schedule  # noqa: F401  (patches Learner.fit_one_cycle)
    from fastai.callback.core import Callback
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.learner import Learner

    class Rec(Callback):
        # before_step runs after ParamScheduler.before_batch has set the hypers
        # and right before opt.step(): exactly what this update uses.
        run_valid = False

        def before_fit(self):
            self.lrs, self.moms = [], []

        def before_step(self):
            h = self.learn.opt.hypers[0]
            self.lrs.append(float(h["lr"]))
            self.moms.append(float(h["mom"]))

    torch.manual_seed(0)
    xs = torch.randn(n_iter, 1)
    ds = list(zip(xs, 2.0 * xs))
    dls = DataLoaders(DataLoader(ds, bs=1), DataLoader(ds[:1], bs=1))
    learn = Learner(dls, torch.nn.Linear(1, 1), loss_func=torch.nn.MSELoss())
    rec = Rec()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(
            n_epoch, lr_max, div=div, div_final=div_final, pct_start=pct, moms=moms, cbs=rec
        )
    assert len(rec.lrs) == n_epoch * n_iter
    return rec.lrs, rec.moms


def fastai_cases(skipped):
    cases = []
    conv, defaults = "fastai", (25.0, 1e5)  # fit_one_cycle's own defaults
    seen = set()
    split = {1: (1, 1), 2: (2, 1), 7: (1, 7), 10: (2, 5), 100: (4, 25), 1000: (4, 250)}

    def run(T, pct, max_lr=0.1, div=25.0, final_div=1e5, base=0.85, top=0.95):
        n_epoch, n_iter = split[T]
        sfx = f"-T{T}-e{n_epoch}x{n_iter}-p{pct:g}-cos"
        lrs, moms = _run_fastai(n_epoch, n_iter, max_lr, div, final_div, pct, (top, base, top))
        cid = "fastai-lr" + sfx + _tag(max_lr, div, final_div, defaults)
        kw = _lr_kwargs(max_lr, T, pct, "cos", div, final_div, False, None, conv)
        cases.append(_case(cid, "fastai", LR, kw, range(T), lrs))
        cid = "fastai-mom" + sfx + f"-m{base:g}-{top:g}"
        if cid not in seen:
            seen.add(cid)
            kw = _mom_kwargs(T, base, top, pct, "cos", False, None, conv)
            cases.append(_case(cid, "fastai", MOM, kw, range(T), moms))

    for T, pct in PAIRS:
        run(T, pct)
    for T, pct in EXTRA_DIVS + [(10, 0.25)]:
        run(T, pct, div=10.0, final_div=100.0, base=0.8, top=0.99)
    run(100, 0.3, div=25.0, final_div=1e4)
    run(100, 0.3, max_lr=3.0)
    run(1000, 0.25, base=0.8, top=0.99)
    return cases


# ----------------------------------------------------------------------- deepspeed
def deepspeed_cases(skipped):
    from deepspeed.runtime.lr_schedules import OneCycle

    cases = []

    def run(
        name,
        n_extra,
        cycle_min_lr=0.01,
        cycle_max_lr=0.1,
        first=10,
        second=None,
        stair1=0,
        stair2=None,
        decay_step_size=0,
        decay_lr_rate=0.0,
        min_mom=0.8,
        max_mom=0.9,
        decay_mom_rate=0.0,
    ):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([param], lr=cycle_max_lr)
        sched = OneCycle(
            opt,
            cycle_min_lr,
            cycle_max_lr,
            decay_lr_rate=decay_lr_rate,
            cycle_first_step_size=first,
            cycle_second_step_size=second,
            cycle_first_stair_count=stair1,
            cycle_second_stair_count=stair2,
            decay_step_size=decay_step_size,
            cycle_momentum=True,
            cycle_min_mom=min_mom,
            cycle_max_mom=max_mom,
            decay_mom_rate=decay_mom_rate,
        )
        n = int(sched.total_size) + n_extra
        lrs, moms = [], []
        for _ in range(n):
            lrs.append(float(opt.param_groups[0]["lr"]))
            moms.append(float(opt.param_groups[0]["betas"][0]))
            param.grad = torch.ones(1)
            opt.step()
            sched.step()
        shape = {
            "cycle_first_step_size": first,
            "cycle_second_step_size": second,
            "cycle_first_stair_count": stair1,
            "cycle_second_stair_count": stair2,
            "decay_step_size": decay_step_size,
        }
        kw = {
            "cycle_min_lr": cycle_min_lr,
            "cycle_max_lr": cycle_max_lr,
            **shape,
            "decay_lr_rate": decay_lr_rate,
        }
        cases.append(_case(f"deepspeed-lr-{name}", "deepspeed", DS_LR, kw, range(n), lrs))
        kw = {
            **shape,
            "cycle_min_mom": min_mom,
            "cycle_max_mom": max_mom,
            "decay_mom_rate": decay_mom_rate,
        }
        cases.append(_case(f"deepspeed-mom-{name}", "deepspeed", DS_MOM, kw, range(n), moms))

    run("sym10", 10)
    run("asym7-13", 10, first=7, second=13)
    run("asym13-4", 10, first=13, second=4)
    run("tiny1-1", 5, first=1, second=1)
    run("second0", 5, first=10, second=0)
    run("stair4-none", 10, first=10, stair1=4)
    run("stair5-0", 10, first=10, second=20, stair1=5, stair2=0)
    run("stair3-2", 10, first=12, second=8, stair1=3, stair2=2)
    run("stair3-4-nondiv", 10, first=7, second=10, stair1=3, stair2=4)
    run("decay5", 30, decay_step_size=5, decay_lr_rate=0.5, decay_mom_rate=0.02)
    run("decay0-rates-ignored", 30, decay_step_size=0, decay_lr_rate=0.5, decay_mom_rate=0.02)
    run("decay4-mom-only", 20, decay_step_size=4, decay_lr_rate=0.0, decay_mom_rate=0.01)
    run("decay4-lr-only", 20, decay_step_size=4, decay_lr_rate=0.25, decay_mom_rate=0.0)
    run(
        "mixed",
        20,
        cycle_min_lr=0.001,
        cycle_max_lr=3.0,
        first=6,
        second=9,
        stair1=2,
        stair2=3,
        decay_step_size=3,
        decay_lr_rate=1.0,
        min_mom=0.85,
        max_mom=0.95,
        decay_mom_rate=0.01,
    )
    run(
        "long250-750",
        200,
        cycle_min_lr=1e-4,
        cycle_max_lr=1e-3,
        first=250,
        second=750,
        decay_step_size=100,
        decay_lr_rate=0.1,
        decay_mom_rate=0.001,
    )
    return cases


# ---------------------------------------------------------------------------- main
def _versions():
    from importlib.metadata import version

    return {
        "torch": torch.__version__,
        "braintools": version("braintools"),
        "optax": version("optax"),
        "fastai": version("fastai"),
        "deepspeed": version("deepspeed"),
        "jax": jax.__version__,
    }


def _splice(reference, cases, skipped):
    """Replace ``reference``'s lines of the existing file; every other line stays as it is."""
    with open(OUT) as f:
        lines = f.read().split("\n")
    prefix = '{"id": "' + reference + "-"
    ours = [json.dumps(c) for c in cases]
    ours_skipped = [json.dumps(s) for s in skipped if s["id"].startswith(reference + "-")]
    out, in_skipped, placed = [], False, {False: False, True: False}
    for line in lines:
        if line.startswith(' "skipped"'):
            in_skipped = True
        if not line.startswith(prefix):
            out.append(line)
            continue
        if not placed[in_skipped]:  # the first old line of this reference: the new block
            block = ours_skipped if in_skipped else ours
            out.extend(b + "," for b in block)
            placed[in_skipped] = True
    if not placed[True] and ours_skipped:  # no old skipped line: put the new ones first
        at = out.index(' "skipped": [') + 1
        out[at:at] = [b + "," for b in ours_skipped]
    text = "\n".join(out)
    # the last entry of each list has no comma
    text = text.replace(",\n ],", "\n ],").replace(",\n ]}", "\n ]}")
    json.loads(text)
    return text


def main():
    if sys.argv[1:2] == ["--only"]:
        reference = sys.argv[2]
        brainstate.environ.set(precision=64)
        warnings.simplefilter("ignore")
        skipped = []
        cases = globals()[f"{reference}_cases"](skipped)
        text = _splice(reference, cases, skipped)
        with open(OUT, "w") as f:
            f.write(text)
        print(
            f"replaced {len(cases)} {reference} cases, skipped {len(skipped)} -> "
            f"{os.path.relpath(OUT)}",
            file=sys.stdout,
        )
        return
    # Importing brainstate (pulled in by braintools) resets jax_enable_x64 to False
    # (brainstate/environ.py: ``set(precision=DEFAULT_PRECISION)`` at import), so
    # x64 is switched on through brainstate, after that import, and only when run.
    brainstate.environ.set(precision=64)
    assert jax.config.jax_enable_x64
    warnings.simplefilter("ignore")
    skipped = []
    cases = []
    for fn in (torch_cases, braintools_cases, optax_cases, fastai_cases, deepspeed_cases):
        cases += fn(skipped)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    head = {"generated_by": "tests/make_golden.py", "versions": _versions()}
    # One case per line keeps the file diffable; json floats use repr (round-trip).
    text = json.dumps(head)[:-1] + ',\n "cases": [\n'
    text += ",\n".join(json.dumps(c) for c in cases)
    text += '\n ],\n "skipped": [\n' + ",\n".join(json.dumps(s) for s in skipped) + "\n ]}\n"
    json.loads(text)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    counts = {}
    for c in cases:
        counts[c["reference"]] = counts.get(c["reference"], 0) + 1
    print(
        f"wrote {len(cases)} cases {counts}, skipped {len(skipped)} -> {os.path.relpath(OUT)}",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
