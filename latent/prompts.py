"""Prompt lists for the image benchmark: Parti Prompts and EIGO's 36-prompt draw.

The package ships ``latent/data/PartiPrompts.tsv`` (1,632 prompts; columns Prompt, Category, Challenge, Note;
Apache-2.0, see ``PartiPrompts.LICENSE``). :func:`eigo_prompts` draws EIGO's default list (arXiv 2511.03913):
3 prompts from each of the 12 Parti categories, 36 in all, with Python's ``random`` seeded with 42.

How the draw is done, exactly (so anyone can reproduce it without this package)::

    import csv, random
    rows = list(csv.DictReader(open("PartiPrompts.tsv"), delimiter="\\t"))   # file order
    random.seed(42)
    chosen = []
    for category in sorted({r["Category"] for r in rows}):                   # categories sorted by name
        in_cat = [r["Prompt"] for r in rows if r["Category"] == category]    # file order within a category
        chosen += random.sample(in_cat, 3)                                  # one stream across categories

:func:`eigo_prompts` makes the same calls on a private ``random.Random(42)`` (same sequence as
``random.seed(42)``), so the global ``random`` state is left alone.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from diffevo.validation import check_positive_int

PARTI_FILE = Path(__file__).with_name("data") / "PartiPrompts.tsv"
EIGO_SEED = 42
EIGO_PER_CATEGORY = 3


@dataclass(frozen=True)
class PartiPrompt:
    """One Parti prompt: text, category, challenge."""

    prompt: str
    category: str
    challenge: str


def load_parti(path: str | Path | None = None) -> list[PartiPrompt]:
    """All prompts of a Parti Prompts TSV (default: the shipped file), in file order, text stripped of outer spaces."""
    path = PARTI_FILE if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prompts: no such file {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        try:
            reader = csv.DictReader(fh, delimiter="\t")
            missing = {"Prompt", "Category"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"prompts: {path} lacks the column(s) {sorted(missing)} of a Parti Prompts TSV")
            return [PartiPrompt(r["Prompt"].strip(), r["Category"].strip(), (r.get("Challenge") or "").strip())
                    for r in reader if r["Prompt"] and r["Prompt"].strip()]
        except UnicodeDecodeError as error:
            raise ValueError(_not_utf8(path, error)) from None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """The one-line refusal of a prompt file that is not UTF-8 text."""
    return (f"--prompts: {path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8")


def eigo_prompts(per_category: int = EIGO_PER_CATEGORY, seed: int = EIGO_SEED,
                 path: str | Path | None = None) -> list[PartiPrompt]:
    """EIGO's prompt list: ``per_category`` prompts from each category, drawn as the module doc says.

    Default: 3 per category x 12 categories = 36 prompts, seed 42. Order: categories sorted, then the
    order ``random.sample`` returns.
    """
    check_positive_int(per_category, "per_category", 1)
    check_positive_int(seed, "seed", 0)
    rows = load_parti(path)
    rng = random.Random(seed)
    chosen: list[PartiPrompt] = []
    for category in sorted({r.category for r in rows}):
        in_cat = [r for r in rows if r.category == category]
        if len(in_cat) < per_category:
            raise ValueError(f"per_category: category {category!r} has only {len(in_cat)} prompts")
        chosen += rng.sample(in_cat, per_category)
    return chosen


DIGITS_DEV_PROMPTS = (
    "a thick handwritten zero", "a small handwritten one", "a thin slanted handwritten two",
    "a large handwritten three", "a small thin handwritten four", "an upright handwritten five",
    "a large thick handwritten six", "a slanted handwritten seven", "a small thick handwritten eight",
    "a thin upright handwritten nine",
)
"""The digits world's development prompts (calibration sweeps); the reported runs use :func:`digits_prompts`."""


def digits_prompts(dev: bool = False) -> list[PartiPrompt]:
    """The digits world's prompts: "a handwritten zero" ... "a handwritten nine" (reported runs; category
    "digits"), or with ``dev=True`` :data:`DIGITS_DEV_PROMPTS` (tuning only; category "digits-dev")."""
    if dev:
        return [PartiPrompt(p, "digits-dev", "") for p in DIGITS_DEV_PROMPTS]
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return [PartiPrompt(f"a handwritten {w}", "digits", "") for w in words]


def read_prompt_list(spec: str) -> list[PartiPrompt]:
    """A prompt list by name or file.

    ``"digits"`` / ``"digits-dev"``: :func:`digits_prompts` (the digits world's ten reported / ten tuning
    prompts); ``"eigo"``: :func:`eigo_prompts` (36); ``"parti"``: all 1,632 Parti prompts; a ``.tsv`` path: a
    Parti-format file; any other path: a text file with one prompt per line (blank lines and ``#`` lines skipped;
    category "custom").
    """
    if spec in ("digits", "digits-dev"):
        return digits_prompts(dev=spec == "digits-dev")
    if spec == "eigo":
        return eigo_prompts()
    if spec == "parti":
        return load_parti()
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"--prompts: not 'digits', 'digits-dev', 'eigo', 'parti' or an existing file: {spec}")
    if path.suffix.lower() == ".tsv":
        rows = load_parti(path)
        if not rows:
            raise ValueError(f"--prompts: {path} holds no prompts (a Parti TSV with no prompt rows)")
        return rows
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError as error:
        raise ValueError(_not_utf8(path, error)) from None
    prompts = [PartiPrompt(ln, "custom", "") for ln in lines if ln and not ln.startswith("#")]
    if not prompts:
        raise ValueError(f"--prompts: {path} holds no prompts (one per line)")
    return prompts
