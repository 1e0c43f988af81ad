"""The peer libraries' resume behaviour quoted in docs/resume.md ("How the peers resume").

A scheduler planned for 100 steps is stepped 60 times, its state saved, and loaded into one
built for 150 (the longer budget a resumed run is given); each library's rate at the resumed
step is printed next to the planned one. Needs torch, transformers and optax (the `parity`
extra); the output is committed as docs/peer_resume_check.txt:

    python docs/peer_resume_check.py > docs/peer_resume_check.txt
"""

from __future__ import annotations

import optax
import torch
import transformers
from torch.optim.lr_scheduler import OneCycleLR

PLANNED, LONGER, AT, WARMUP, LR = 100, 150, 60, 10, 0.1


def _optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)


def torch_onecycle() -> None:
    opt = _optimizer()
    planned = OneCycleLR(opt, max_lr=LR, total_steps=PLANNED)
    for _ in range(AT):
        opt.step()
        planned.step()
    resumed = OneCycleLR(_optimizer(), max_lr=LR, total_steps=LONGER)
    resumed.load_state_dict(planned.state_dict())
    print(f"torch OneCycleLR: total_steps after load_state_dict = {resumed.total_steps}")
    try:
        for _ in range(LONGER - AT):
            resumed.optimizer.step()
            resumed.step()
    except ValueError as err:
        print(f"torch OneCycleLR: stepping on raised ValueError: {err}")


def huggingface(name: str) -> None:
    make = getattr(transformers, f"get_{name}_schedule_with_warmup")
    opt = _optimizer()
    planned = make(opt, WARMUP, PLANNED)
    for _ in range(AT + 1):
        opt.step()
        planned.step()
    want = planned.get_last_lr()[0]
    resumed = make(_optimizer(), WARMUP, LONGER)
    resumed.load_state_dict(planned.state_dict())
    got = LR * resumed.lr_lambdas[0](resumed.last_epoch)  # the rate of the saved step
    print(
        f"transformers {name}: step {AT + 1}, planned {want:.4f}, after resuming with "
        f"num_training_steps={LONGER}: {got:.4f}"
    )


def optax_onecycle() -> None:
    planned = optax.cosine_onecycle_schedule(PLANNED, LR)
    longer = optax.cosine_onecycle_schedule(LONGER, LR)
    print(
        f"optax cosine_onecycle_schedule at the restored count {AT}: planned "
        f"({PLANNED}, {LR}) {float(planned(AT)):.4f}, rebuilt ({LONGER}, {LR}) "
        f"{float(longer(AT)):.4f}"
    )


if __name__ == "__main__":
    versions = (torch.__version__, transformers.__version__, optax.__version__)
    print("torch {}, transformers {}, optax {}".format(*versions))
    torch_onecycle()
    huggingface("linear")
    huggingface("cosine")
    optax_onecycle()
