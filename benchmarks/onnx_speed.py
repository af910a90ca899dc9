"""How fast the ONNX route profiles: `advisor profile resnet50.onnx` against `advisor profile resnet50`.

Goal (issue 9): profiling resnet50.onnx as a whole command takes at most half the time of
profiling the torch zoo model. Both are fresh processes (imports included, no profile cache:
each run uses an empty database), minimum of --repeat runs. The ONNX file is exported here
(TorchScript exporter, dynamic batch) into a temporary directory; export time is not timed.

Run on a quiet machine: python benchmarks/onnx_speed.py [--repeat 5]
Writes docs/onnx-speed.md.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import ADVISOR, Spread, fresh_db_env, generated_by, markdown_table, speed_parser, timed, write_page  # noqa: E402


def export_resnet50(folder: Path) -> Path:
    import torch
    import torchvision

    path = folder / "resnet50.onnx"
    model = torchvision.models.resnet50().eval()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False,
                          input_names=["images"], dynamic_axes={"images": {0: "batch"}})
    return path


def main() -> None:
    opts = speed_parser(__doc__, repeat=5, out=ROOT / "docs" / "onnx-speed.md").parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        onnx_file = export_resnet50(folder)
        commands = {
            "`advisor profile resnet50 -f json`": ["profile", "resnet50", "-f", "json"],
            "`advisor profile resnet50.onnx --batch 1 -f json`": ["profile", str(onnx_file), "--batch", "1",
                                                                   "-f", "json"],
        }
        best: dict[str, float] = {}
        for n, (label, args) in enumerate(commands.items()):
            best[label] = Spread.of(timed(ADVISOR + args, fresh_db_env(folder, f"db-{n}-{i}.sqlite"))
                                    for i in range(opts.repeat)).best
    torch_s, onnx_s = best.values()
    ratio = onnx_s / torch_s
    lines = [
        "# ONNX profiling speed",
        "",
        generated_by(f"python benchmarks/onnx_speed.py --repeat {opts.repeat}",
                     f"{platform.platform()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
        + f" Whole commands in fresh processes with an empty database, minimum of {opts.repeat} runs.",
        "",
        *markdown_table(["command", "wall"], [[label, f"{seconds:.2f} s"] for label, seconds in best.items()]),
        "",
        f"ONNX / torch: {ratio:.2f} (goal: at most 0.5) - {'met' if ratio <= 0.5 else 'NOT met'}.",
        "",
    ]
    write_page(opts.out, lines, echo=True)


if __name__ == "__main__":
    main()
