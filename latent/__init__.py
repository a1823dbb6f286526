"""Latent Diffusion Evolution and the SDXL image side (see the issues that build them)."""
