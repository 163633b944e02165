"""Train the byte-level Llama of the LLM-pruning experiment on the standard library's source.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/llm_train.py --seed 0 1 2 --out OUT

One thread. AdamW (lr 3e-3, betas 0.9/0.95, weight decay 0.1, 100 warm-up steps, then
constant), batches of 16 random windows of 129 bytes from the training split. Every
``--eval-every`` steps the held-out bits per byte is measured on 64 fixed held-out windows;
**plateau** means no improvement of more than ``--min-delta`` (0.01 bits/byte) over the best
value for ``--patience`` consecutive evaluations; then the learning rate is cut by 4 once and
training continues until a second plateau (or the caps ``--max-steps`` / ``--max-minutes``,
which the record reports as ``stopped: "cap"``). The best evaluated weights are saved with
``save_pretrained`` (safetensors) under ``OUT/seed{N}/model`` with ``train.json`` beside it.

Resumable: a checkpoint (model, optimizer, sampler state, history) is written atomically every
evaluation to ``OUT/seed{N}/checkpoint.pt`` and picked up by a rerun with the same arguments;
a seed whose ``train.json`` exists is skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from stdlib_bytes import CONTEXT, bits_per_byte, build_model, corpus_bytes, eval_windows  # noqa: E402


def atomic_torch_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--min-delta", type=float, default=0.01)
    ap.add_argument("--max-steps", type=int, default=20_000)
    ap.add_argument("--max-minutes", type=float, default=240.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    train = torch.from_numpy(corpus_bytes("train").astype("int64"))
    held = corpus_bytes("held_out")
    windows = eval_windows(held, 64)
    print(f"train {len(train)} bytes, held-out {len(held)} bytes, {len(windows)} eval windows", flush=True)
    for seed in args.seed:
        train_seed(seed, args, train, windows)
    return 0


def train_seed(seed: int, args: argparse.Namespace, train: torch.Tensor, windows: torch.Tensor) -> None:
    out = args.out / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    if (out / "train.json").exists():
        print(f"seed {seed}: done already", flush=True)
        return
    model = build_model(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(10_000 + seed)
    state = {"step": 0, "elapsed": 0.0, "history": [], "best": float("inf"), "best_step": 0, "bad": 0,
             "lr_cuts": 0, "lr": args.lr}
    best_weights = copy.deepcopy(model.state_dict())
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=True)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"])
        best_weights = saved["best_weights"]
        state = json.loads(saved["state"])
        print(f"seed {seed}: resumed at step {state['step']}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter() - state["elapsed"]
    stopped = "cap"
    span = CONTEXT + 1
    while state["step"] < args.max_steps and (time.perf_counter() - start) < 60 * args.max_minutes:
        model.train()
        lr = state["lr"] * min(1.0, (state["step"] + 1) / 100)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(train) - span, (args.batch_size,), generator=gen)
        batch = torch.stack([train[s:s + span] for s in starts.tolist()])
        loss = torch.nn.functional.cross_entropy(model(input_ids=batch[:, :-1]).logits.reshape(-1, 256),
                                                 batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        if state["step"] % args.eval_every == 0:
            bpb = bits_per_byte(model, windows)
            state["elapsed"] = time.perf_counter() - start
            state["history"].append({"step": state["step"], "train_loss": loss.item(), "held_out_bpb": bpb,
                                     "seconds": round(state["elapsed"], 1), "lr": lr})
            if bpb < state["best"] - args.min_delta:
                state["best"], state["best_step"], state["bad"] = bpb, state["step"], 0
                best_weights = copy.deepcopy(model.state_dict())
            else:
                state["bad"] += 1
            print(f"seed {seed} step {state['step']} loss {loss.item():.3f} held-out {bpb:.4f} bpb "
                  f"({state['elapsed']:.0f} s)", flush=True)
            if state["bad"] >= args.patience:
                if state["lr_cuts"] == 0:
                    state["lr_cuts"], state["lr"], state["bad"] = 1, state["lr"] / 4, 0
                    print(f"seed {seed}: plateau, lr -> {state['lr']:g}", flush=True)
                else:
                    stopped = "plateau"
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                               "best_weights": best_weights, "state": json.dumps(state)}, ckpt)
            if stopped == "plateau":
                break
    model.load_state_dict(best_weights)
    model.save_pretrained(out / "model", safe_serialization=True)
    record = {"seed": seed, "parameters": n_params, "steps": state["step"], "best_step": state["best_step"],
              "held_out_bpb": bits_per_byte(model, windows), "stopped": stopped, "lr_cuts": state["lr_cuts"],
              "seconds": round(time.perf_counter() - start, 1), "threads": args.threads,
              "batch_size": args.batch_size, "context": CONTEXT, "history": state["history"]}
    tmp = out / "train.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, out / "train.json")
    print(f"seed {seed}: {stopped} at step {state['step']}, best {record['held_out_bpb']:.4f} bpb", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
