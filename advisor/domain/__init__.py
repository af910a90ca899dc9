"""The domain types every stage shares, each defined once.

- specs.py: platform, framework and calibration specs (the database stores them, the
  predictor and the rules read them);
- vocab.py: device classes (is_gpu / is_cpu / is_npu) and compute capability parsing;
- findings.py: what a rule or a user's budget says about a candidate (``Finding``);
- candidates.py: the recommender's ``Candidate`` and ``Exclusion``;
- curve.py: reading a calibration's utilisation curve.

Schemes and precisions are advisor.precision. Stages import from the submodules (this
package imports nothing itself, so ``vocab`` stays cheap). Nothing here imports a stage,
torch or SQLAlchemy.
"""
