"""Golden training trajectories from PyTorch: SGD / AdamW with OneCycleLR, momentum cycled.

Run ``python tests/make_golden_training.py`` (needs ``torch==2.13.0``) to rewrite
``tests/golden/training.json``. A two-layer tanh network regresses a fixed random target;
the initial weights and the batches are stored in the file, so the JAX side starts from
exactly the same numbers. ``weights[k]`` are the weights after ``k + 1`` updates.

PyTorch computes in float64, but each hyperparameter it is about to use (lr, momentum,
betas, eps, weight decay) is first rounded to float32, the precision jax_onecycle keeps
hyperparameters in whatever the weights' dtype: the test then compares the update maths
alone, which a 50-step trajectory at a high learning rate would otherwise drown in the
amplified difference of a float64 and a float32 learning rate.
"""

import json
import pathlib

import numpy as np
import torch

STEPS = 50
OUT = pathlib.Path(__file__).parent / "golden" / "training.json"


def _data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.normal(0, 0.5, (4, 8)).tolist(),
        "w2": rng.normal(0, 0.5, (8, 1)).tolist(),
        "x": rng.normal(0, 1, (STEPS, 16, 4)).tolist(),
        "y": rng.normal(0, 1, (STEPS, 16, 1)).tolist(),
    }


def _loss(params, x, y):
    return torch.mean((torch.tanh(x @ params[0]) @ params[1] - y) ** 2)


def _f32(value):
    return float(np.float32(value))


def _round_hyperparameters(opt) -> None:
    for group in opt.param_groups:
        for key in ("lr", "momentum", "eps", "weight_decay"):
            if key in group:
                group[key] = _f32(group[key])
        if "betas" in group:
            group["betas"] = tuple(_f32(b) for b in group["betas"])


def _run(data: dict, algorithm: str, sched_kwargs: dict, opt_kwargs: dict) -> list:
    params = [
        torch.tensor(data["w1"], dtype=torch.float64, requires_grad=True),
        torch.tensor(data["w2"], dtype=torch.float64, requires_grad=True),
    ]
    if algorithm == "sgd":
        opt = torch.optim.SGD(params, lr=0.1, **opt_kwargs)
    else:
        opt = torch.optim.AdamW(params, lr=0.1, **opt_kwargs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=STEPS, **sched_kwargs)
    x = torch.tensor(data["x"], dtype=torch.float64)
    y = torch.tensor(data["y"], dtype=torch.float64)
    trajectory = []
    for k in range(STEPS):
        opt.zero_grad()
        _loss(params, x[k], y[k]).backward()
        _round_hyperparameters(opt)
        opt.step()
        if k < STEPS - 1:
            sched.step()
        trajectory.append([p.detach().numpy().tolist() for p in params])
    return trajectory


def main() -> None:
    torch.manual_seed(0)
    data = _data()
    runs = [
        ("sgd-cos", "sgd", dict(max_lr=0.5), dict(momentum=0.9)),
        (
            "sgd-linear-3phase",
            "sgd",
            dict(max_lr=0.5, anneal_strategy="linear", three_phase=True),
            dict(momentum=0.9),
        ),
        (
            "sgd-nesterov-wd",
            "sgd",
            dict(max_lr=0.5),
            dict(momentum=0.9, nesterov=True, weight_decay=1e-2),
        ),
        ("adamw-cos", "adamw", dict(max_lr=0.05), dict(weight_decay=1e-2)),
    ]
    cases = []
    for name, algorithm, sched_kwargs, opt_kwargs in runs:
        cases.append(
            {
                "id": name,
                "algorithm": algorithm,
                "scheduler": sched_kwargs,
                "optimizer": opt_kwargs,
                "weights": _run(data, algorithm, sched_kwargs, opt_kwargs),
            }
        )
    OUT.write_text(
        json.dumps(
            {
                "generated_by": "tests/make_golden_training.py",
                "versions": {"torch": torch.__version__},
                "steps": STEPS,
                "data": data,
                "cases": cases,
            }
        )
    )
    print(f"wrote {len(cases)} trajectories to {OUT}")


if __name__ == "__main__":
    main()
