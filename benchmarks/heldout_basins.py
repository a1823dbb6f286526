"""How much of the box each global optimum of the MPM2 problems owns: the share of uniform random points whose
active peak (the one with the largest peak function, Wessing's ``get_active_peak``) is that global optimum.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/heldout_basins.py --samples 200000

writes benchmarks/results/heldout/basins.md (held-out suite) and benchmarks/results/heldout_dev/basins.md
(development suite). A global optimum that owns almost none of the box is found only by a sample or a local
search that starts very near it; uniform samples, and any population drawn towards the large regions, rarely do.
The last column says whether found optima point to the others: each global optimum's distance to the nearest other
one, as a share of the box diagonal (small values: optima cluster, and sampling near the found ones would pay).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from diffevo.provenance import write_versions
from diffevo.tasks.heldout import CLUSTER_SPREAD, DEV_SEED, HELDOUT_SEED, MPM2_DIMS
from diffevo.tasks.mpm2 import TOPOLOGIES, mpm2_peaks


def active_shares(peaks: dict[str, np.ndarray], samples: int, seed: int, chunk: int = 20_000) -> np.ndarray:
    """Share (k,) of ``samples`` uniform points of [0, 1]^dim whose active peak is peak k."""
    pos, inv = peaks["position"], peaks["inverse_cov"]
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(pos))
    for start in range(0, samples, chunk):
        x = rng.uniform(0, 1, (min(chunk, samples - start), pos.shape[1]))
        diff = x[:, None, :] - pos[None]
        d = np.sqrt(np.maximum(np.einsum("nki,kij,nkj->nk", diff, inv, diff), 0))
        g = peaks["height"] / (1 + d ** peaks["shape"] / peaks["radius"])
        counts += np.bincount(g.argmax(1), minlength=len(pos))
    return counts / samples


def nearest_optimum_distance(position: np.ndarray) -> np.ndarray:
    """Distance (k,) from each of the points ``position`` (k, dim) in [0, 1]^dim to the nearest other one, as a
    share of the box diagonal sqrt(dim)."""
    gaps = np.linalg.norm(position[:, None] - position[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    return gaps.min(axis=1) / np.sqrt(position.shape[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f"--samples must be >= 1, got {args.samples}")
    for suite_seed, folder in ((HELDOUT_SEED, "heldout"), (DEV_SEED, "heldout_dev")):
        lines = [f"Share of {args.samples} uniform points whose active peak is each global optimum (MPM2, instance "
                 f"seed {suite_seed}; 0 means fewer than 1 in {args.samples}).", "",
                 "| problem | all 10 global optima together | per global optimum, largest first | optima owning "
                 "< 0.1 % | nearest other global optimum / box diagonal (min, median, max) |", "|---|---|---|---|---|"]
        cases = [(f"mpm2-{t}-d{d}", d, t, None) for t in TOPOLOGIES[::-1] for d in MPM2_DIMS]
        cases += [(f"mpm2-cluster-d{d}", d, "funnel", CLUSTER_SPREAD) for d in (10, 20)]
        for name, dim, topology, spread in cases:
            peaks = mpm2_peaks(dim, 50, 10, topology, suite_seed, spread)
            top = peaks["height"] == 1.0
            share = active_shares(peaks, args.samples, seed=0)[top]
            each = " ".join(f"{v:.2g}" for v in sorted(share, reverse=True))
            gap = nearest_optimum_distance(peaks["position"][top])
            lines.append(f"| {name} | {share.sum():.3f} | {each} | {int((share < 1e-3).sum())} | "
                         f"{gap.min():.2f}, {np.median(gap):.2f}, {gap.max():.2f} |")
        out = Path("benchmarks/results") / folder
        out.mkdir(parents=True, exist_ok=True)
        (out / "basins.md").write_text("\n".join(lines) + "\n")
        write_versions(out / "basins.versions.txt")
        print("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
