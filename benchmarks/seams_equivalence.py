"""Before/after check for refactors: the CLI gives identical output at two commits.

For every zoo model it captures `profile --format json`, `recommend --format json` and
`predict --format json` on a set of targets (and, for the language models, the decode
phase too), plus `gate --format json` for every example config in configs/gate. Each
side runs in its own process against a fresh database in a temporary directory, with
the code of that side first on the import path, so the two captures share nothing but
the seed YAML of their own trees.

    python benchmarks/seams_equivalence.py --before 9416cd0        # REF vs working tree
    python benchmarks/seams_equivalence.py --before A --after B     # two commits
    python benchmarks/seams_equivalence.py --models resnet18,yolov5s --before HEAD

Exit 0 when every output is identical (stdout and exit code), 1 otherwise, listing the
first differences. The command line is the contract scripts rely on (design.md), so it is
what is compared: internal APIs may change freely in between.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["jetson-nano", "t4", "h200", "raspberry-pi-4"]
# One (framework, precision) per target for `predict`; recommend covers the rest.
PREDICT_COMBO = {
    "jetson-nano": ("tensorrt", "fp16"),
    "t4": ("tensorrt", "int8"),
    "h200": ("tensorrt", "fp16"),
    "raspberry-pi-4": ("onnxruntime-cpu", "fp32"),
}
LLM_PREDICT_COMBO = {"jetson-nano": ("llama-cpp", "w4a16"), "t4": ("vllm", "w4a16"),
                     "h200": ("vllm", "fp16"), "raspberry-pi-4": ("llama-cpp", "w4a16")}


def command_list(models: list[str], llms: set[str], gate_configs: list[Path]) -> list[list[str]]:
    """Every CLI invocation to compare, in a fixed order."""
    cmds: list[list[str]] = []
    for model in models:
        cmds.append(["profile", model, "--format", "json"])
        phases = [[], ["--phase", "decode", "--context", "2048"]] if model in llms else [[]]
        for target in TARGETS:
            for phase in phases:
                cmds.append(["recommend", "--model", model, "--target", target, "--format", "json", *phase])
            framework, precision = (LLM_PREDICT_COMBO if model in llms else PREDICT_COMBO)[target]
            cmds.append(["predict", "--model", model, "--target", target, "--framework", framework,
                         "--precision", precision, "--format", "json", *phases[-1]])
    for config in gate_configs:
        cmds.append(["gate", str(config), "--format", "json"])
    return cmds


def capture(code_root: Path, commands: list[list[str]], out_file: Path) -> None:
    """Run every command in one process with `code_root` first on the import path."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(code_root) + os.pathsep + env.get("PYTHONPATH", "")
        env["ADVISOR_DB"] = f"sqlite:///{tmp}/advisor.db"
        env["COLUMNS"] = "100"
        cmd_file = Path(tmp) / "commands.json"
        cmd_file.write_text(json.dumps(commands))
        subprocess.run([sys.executable, __file__, "--worker", str(cmd_file), str(out_file)],
                       env=env, cwd=code_root, check=True)


def worker(cmd_file: Path, out_file: Path) -> None:
    """Inside the capture process: run the CLI in-process for each command."""
    from typer.testing import CliRunner

    import advisor
    from advisor.cli import app

    print(f"capturing with {Path(advisor.__file__).parent}", file=sys.stderr)
    runner = CliRunner()
    results = []
    commands = json.loads(cmd_file.read_text())
    for i, args in enumerate(commands):
        res = runner.invoke(app, args, catch_exceptions=True)
        err = "" if res.exception is None or isinstance(res.exception, SystemExit) else repr(res.exception)
        results.append({"args": args, "exit": res.exit_code, "stdout": res.stdout, "exception": err})
        if i % 50 == 0:
            print(f"  {i}/{len(commands)}", file=sys.stderr)
    out_file.write_text(json.dumps(results))


def checkout(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref],
                   check=True, capture_output=True)
    return where


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=False, help="git ref of the 'before' side")
    parser.add_argument("--after", default=None, help="git ref of the 'after' side (default: working tree)")
    parser.add_argument("--models", default=None, help="comma-separated subset (default: every zoo model)")
    parser.add_argument("--keep", type=Path, default=None, help="also save both captures in this folder")
    parser.add_argument("--before-capture", type=Path, default=None,
                        help="reuse a 'before' capture saved earlier with --keep (same --models)")
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    if not args.before:
        parser.error("--before REF is required")

    sys.path.insert(0, str(ROOT))
    from advisor.models.zoo import is_language_model, zoo_names

    models = args.models.split(",") if args.models else zoo_names()
    llms = {m for m in models if is_language_model(m)}
    gates = sorted((ROOT / "configs" / "gate").glob("*.yaml"))
    commands = command_list(models, llms, gates)
    print(f"{len(commands)} commands per side", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        worktrees = []
        try:
            before_root = checkout(args.before, tmp_path / "before")
            worktrees.append(before_root)
            if args.after:
                after_root = checkout(args.after, tmp_path / "after")
                worktrees.append(after_root)
            else:
                after_root = ROOT
            # Gate configs are passed by path: each side reads its own tree's copy.
            sides = {}
            if args.before_capture:
                sides["before"] = json.loads(args.before_capture.read_text())
            for name, root in (("before", before_root), ("after", after_root)):
                if name in sides:
                    continue
                side_cmds = [[a.replace(str(ROOT), str(root)) for a in c] for c in commands]
                out = tmp_path / f"{name}.json"
                capture(root, side_cmds, out)
                sides[name] = json.loads(out.read_text())
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    (args.keep / f"{name}.json").write_text(out.read_text())
        finally:
            for wt in worktrees:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)],
                               capture_output=True)

    differences = 0
    for before, after in zip(sides["before"], sides["after"]):
        same = (before["exit"], before["stdout"], before["exception"]) == (
            after["exit"], after["stdout"], after["exception"])
        if not same:
            differences += 1
            if differences <= 10:
                print("DIFFERS: advisor " + " ".join(commands[sides["before"].index(before)]))
                print(f"  exit {before['exit']} -> {after['exit']}")
                diff = difflib.unified_diff(before["stdout"].splitlines(), after["stdout"].splitlines(),
                                            "before", "after", lineterm="", n=1)
                for line in list(diff)[:20]:
                    print("  " + line)
    total = len(commands)
    print(f"{total - differences}/{total} commands give identical output "
          f"({len(models)} models, targets {', '.join(TARGETS)}, {len(gates)} gate configs)")
    return 0 if differences == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
