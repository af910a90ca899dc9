"""Rules: what runs where, what fits, what risks accuracy (exclude / penalty / warning)."""
