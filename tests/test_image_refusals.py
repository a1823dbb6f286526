"""Issue 32 (image side): clear one-line refusals before any work — a non-UTF-8 prompt file, a pooled embedding
of the wrong width, a popsize a method cannot run."""

from __future__ import annotations

import pytest
import torch
from tiny_sdxl import tiny_pipeline

from diffevo.cli import main
from diffevo.latent.creator import ImageCreator
from diffevo.latent.genome import PromptGenome
from diffevo.latent.image_fitness import ImageFitness
from diffevo.latent.peers import check_methods
from diffevo.latent.prompts import read_prompt_list


def test_non_utf8_prompt_file_names_the_file_and_the_option(tmp_path):
    for name in ("prompts.txt", "prompts.tsv"):
        path = tmp_path / name
        path.write_bytes(b"Prompt\tCategory\n" + "une pomme br\u00fbl\u00e9e\tfood\n".encode("latin-1"))
        with pytest.raises(ValueError, match="--prompts: .*is not UTF-8") as info:
            read_prompt_list(str(path))
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_non_utf8_prompt_file_on_the_cli_is_one_line(tmp_path, capsys):
    path = tmp_path / "prompts.txt"
    path.write_bytes("caf\u00e9\n".encode("latin-1"))
    out = tmp_path / "out"
    code = main(["image-bench", "--world", "digits", "--prompts", str(path), "--budget", "8", "--popsize", "4",
                 "--methods", "best-of-n", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "--prompts" in err and str(path) in err and len(err.strip().splitlines()) == 1
    assert not (out / "runs.jsonl").exists()


def test_sdxl_prompt_rows_with_a_pooled_of_another_width_are_refused_at_construction():
    with pytest.raises(ValueError, match="pooled has width 768.*1280"):
        PromptGenome(torch.zeros(77, 2048), torch.zeros(768))
    with pytest.raises(ValueError, match="pooled has width 16, the pipeline expects 32"):
        PromptGenome(torch.zeros(77, 64), torch.zeros(16), text_dim=64, pooled_dim=32)
    with pytest.raises(ValueError, match="pooled must not be empty"):
        PromptGenome(torch.zeros(77, 64), torch.zeros(0))
    PromptGenome(torch.zeros(77, 2048), torch.zeros(1280))        # SDXL's own widths pass


def test_image_fitness_refuses_a_genome_of_other_widths_than_the_pipeline():
    creator = ImageCreator(pipeline=tiny_pipeline(), batch_size=2)
    assert creator.embedding_dims == (64, 32)
    pe, pooled = creator.encode("a red apple")
    wrong = PromptGenome(pe, pooled[:, :16])
    with pytest.raises(ValueError, match="pooled has width 16, the pipeline expects 32"):
        ImageFitness(creator, lambda im: im.mean(dim=(1, 2, 3)), wrong, "a red apple")
    ImageFitness.for_prompt(creator, lambda im: im.mean(dim=(1, 2, 3)), "a red apple")   # its own encoding passes


def test_a_popsize_a_method_cannot_run_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(ValueError, match="popsize 2 is too small: sepcma needs popsize >= 3; ga needs popsize >= 3"):
        check_methods(["diffevo", "sepcma", "ga"], 8, 2)
    assert check_methods(["diffevo", "best-of-n", "evosearch"], 8, 2) == ["diffevo", "best-of-n", "evosearch"]
    out = tmp_path / "out"
    code = main(["image-bench", "--world", "digits", "--prompts", "digits", "--max-prompts", "1", "--budget", "4",
                 "--popsize", "2", "--methods", "diffevo,sepcma", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "sepcma needs popsize >= 3" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
