"""EIGO's default prompt list (3 per Parti category, random.seed(42)) and the prompt-list readers."""

from __future__ import annotations

import csv
import random
from collections import Counter

import pytest

from diffevo.latent.prompts import PARTI_FILE, PartiPrompt, eigo_prompts, load_parti, read_prompt_list


def test_parti_file_has_1632_prompts_in_12_categories():
    rows = load_parti()
    assert len(rows) == 1632 and len({r.category for r in rows}) == 12
    assert (PARTI_FILE.parent / "PartiPrompts.LICENSE").is_file()


def test_default_list_is_the_36_eigo_prompts_drawn_with_random_seed_42():
    chosen = eigo_prompts()
    assert len(chosen) == 36 and len({p.prompt for p in chosen}) == 36
    counts = Counter(p.category for p in chosen)
    assert len(counts) == 12 and set(counts.values()) == {3}
    # the documented procedure, with the global random module (state restored afterwards)
    saved = random.getstate()
    try:
        with open(PARTI_FILE, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        random.seed(42)
        expected = []
        for category in sorted({r["Category"] for r in rows}):
            expected += [t.strip() for t in random.sample([r["Prompt"] for r in rows if r["Category"] == category], 3)]
    finally:
        random.setstate(saved)
    assert [p.prompt for p in chosen] == expected
    assert [p.prompt for p in read_prompt_list("eigo")] == expected
    assert [p.prompt for p in eigo_prompts(seed=43)] != expected


def test_drawing_leaves_the_global_random_state_alone():
    random.seed(7)
    state = random.getstate()
    eigo_prompts()
    assert random.getstate() == state


def test_prompt_files_and_errors(tmp_path):
    txt = tmp_path / "p.txt"
    txt.write_text("# my prompts\na cat\n\na dog\n")
    assert read_prompt_list(str(txt)) == [PartiPrompt("a cat", "custom", ""), PartiPrompt("a dog", "custom", "")]
    assert len(read_prompt_list("parti")) == 1632
    tsv = tmp_path / "p.tsv"
    tsv.write_text("Prompt\tCategory\tChallenge\nan owl\tAnimals\tBasic\n")
    assert read_prompt_list(str(tsv)) == [PartiPrompt("an owl", "Animals", "Basic")]
    with pytest.raises(FileNotFoundError, match="--prompts"):
        read_prompt_list(str(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no prompts"):
        read_prompt_list(str(tmp_path / "empty.txt"))
    (tmp_path / "bad.tsv").write_text("Text\tKind\nx\ty\n")
    with pytest.raises(ValueError, match="column"):
        load_parti(tmp_path / "bad.tsv")
    with pytest.raises(ValueError, match="per_category"):
        eigo_prompts(per_category=0)
