"""Data protection: subject access, erasure and retention."""
