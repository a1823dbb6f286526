"""``python -m diffevo.latent.digits.cli_train [--out DIR] [--seed N] [--quick]``: train the digits world.

The command line of :func:`diffevo.latent.digits.train.train_world` (stages, settings and the manifest are
described there).
"""

from __future__ import annotations

import argparse
import json
import sys

from .train import TrainingConfig, log_progress, train_world


def main(argv: list[str] | None = None) -> int:
    from .world import WORLD_DIR

    parser = argparse.ArgumentParser(prog="python -m diffevo.latent.digits.cli_train",
                                     description="Train the whole digits world, seeded, on a CPU.")
    parser.add_argument("--out", default=str(WORLD_DIR), help=f"output folder (default {WORLD_DIR}, the shipped one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every stage (default 0)")
    parser.add_argument("--quick", action="store_true", help="a few steps per stage (a smoke test, not a world)")
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    config = TrainingConfig(seed=args.seed)
    if args.quick:
        config = TrainingConfig(seed=args.seed, augmented_copies=1, vae_steps=3, unet_steps=3, clip_steps=3,
                                head_steps=3, unet_batch=16, clip_batch=16, vae_batch=16)
    command = "python -m diffevo.latent.digits.cli_train " + " ".join(sys.argv[1:] if argv is None else argv)
    manifest = train_world(args.out, config, command=command.strip())
    log_progress(json.dumps(manifest["measures"], indent=1))
    log_progress(f"wrote {args.out} in {manifest['seconds']['total']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
