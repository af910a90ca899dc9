"""An op without a cost formula is never a silent zero: predict, recommend and the gate say
so in their output, not only profile (issue 9: the gate used to print PASS with no word).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

MODEL = textwrap.dedent('''
    import torch

    class Tiny(torch.nn.Module):
        """A linear layer followed by a Bessel function, which has no cost formula."""

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(16, 16)

        def forward(self, x):
            return torch.special.bessel_j0(self.fc(x))

    def build():
        return Tiny(), (torch.empty(1, 16),)
''')

WARNING = "ops without a cost formula are not counted"
OP = "aten.special_bessel_j0"


@pytest.fixture()
def workdir(tmp_path, sqlite_db_url):
    (tmp_path / "tiny_uncounted.py").write_text(MODEL)
    return tmp_path


def _advisor(cwd, *args):
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, "-m", "advisor.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_predict_recommend_and_gate_name_the_uncounted_op(workdir):
    predicted = _advisor(workdir, "predict", "--model", "tiny_uncounted:build", "--target", "t4",
                         "--precision", "fp16", "--framework", "tensorrt")
    assert predicted.returncode == 0, predicted.stderr
    assert WARNING in predicted.stdout and OP in predicted.stdout

    for fmt in ("table", "markdown"):
        ranked = _advisor(workdir, "recommend", "--model", "tiny_uncounted:build", "--target", "t4", "--format", fmt)
        assert ranked.returncode == 0, ranked.stderr
        text = " ".join(ranked.stdout.split())  # the table may wrap the line
        assert f"warning: {WARNING}" in text and OP in text

    (workdir / "gate.yaml").write_text(textwrap.dedent('''
        name: tiny
        models: ["tiny_uncounted:build"]
        target: t4
        requirements:
          max_latency_ms: 1000
    '''))
    for fmt in ("table", "markdown"):
        gated = _advisor(workdir, "gate", "gate.yaml", "--format", fmt)
        assert gated.returncode == 0, gated.stderr  # it passes, and says the figures are low
        text = " ".join(gated.stdout.split())
        assert f"warning: {WARNING}: {OP}" in text


def test_a_fully_counted_model_has_no_such_warning(workdir):
    ranked = _advisor(workdir, "recommend", "--model", "resnet18", "--target", "t4", "--top", "3")
    assert ranked.returncode == 0, ranked.stderr
    assert WARNING not in ranked.stdout
