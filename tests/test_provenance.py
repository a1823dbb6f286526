"""Benchmark results carry the package versions that produced them."""

from diffevo.tasks.provenance import package_versions, versions_text, write_versions


def test_package_versions_lists_the_peers_a_benchmark_depends_on():
    versions = package_versions()
    for name in ("torch", "numpy", "cmaes"):
        assert any(k.lower() == name for k in versions), name
    assert all(isinstance(v, str) and v for v in versions.values())


def test_write_versions_is_pip_freeze_format_with_the_command(tmp_path):
    path = write_versions(tmp_path, command=["diffevo", "bench", "--suite", "paper2d"])
    assert path == tmp_path / "versions.txt"
    lines = path.read_text().splitlines()
    assert lines[0] == "# command: diffevo bench --suite paper2d"
    pins = [ln for ln in lines if not ln.startswith("#")]
    assert pins and all("==" in ln for ln in pins)
    assert any(ln.startswith("torch==") for ln in pins)
    assert versions_text(["x"]).startswith("# command: x\n")
