"""Ranking of model x scheme x framework candidates for a target under constraints."""
