"""Deployment gate: fail a pipeline when no allowed candidate meets the deployment budget."""
