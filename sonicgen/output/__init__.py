"""Atomic output: staged files, one commit, a manifest, pruning."""
