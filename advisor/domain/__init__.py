"""The domain types every stage shares: platform, framework and calibration specs (specs.py).

Stages import these from here (or from the submodule); the database stores them, the
predictor and the rules read them. Nothing in this package imports a stage, torch or
SQLAlchemy.
"""
