"""The advisor HTTP service: profile, predict, recommend and gate over HTTP (FastAPI)."""
