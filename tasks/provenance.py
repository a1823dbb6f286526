"""Provenance of benchmark results: moved to :mod:`diffevo.provenance` (re-exported here for old imports)."""

from diffevo.provenance import package_versions, versions_text, write_versions

__all__ = ["package_versions", "versions_text", "write_versions"]
