"""Predicted error against measured accuracy loss on scikit-learn's digits: the figures in
docs/sensitivity.md. Same models as tests/test_sensitivity_accuracy.py (a 64-128-128-10 MLP trained
in about a second, with function-preserving activation outliers of 200x on two hidden units).

With --narrow: the plain 64-8-10 MLP of test_scheme_ranking_on_a_plain_narrow_mlp instead.

Run: python benchmarks/sensitivity_digits.py [--outlier-scale 200 | --narrow]   (no timing: any machine)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from advisor.sensitivity.analysis import Analyzer
    from advisor.sensitivity.calib import CalibData
    from advisor.sensitivity.schemes import SCHEME_NAMES, get_scheme
    from tests.sensitivity_digits import accuracy, digits_mlp, digits_narrow_mlp, load_digits_split

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outlier-scale", type=float, default=200.0)
    parser.add_argument("--calib", type=int, default=128)
    parser.add_argument("--narrow", action="store_true", help="the plain 64-8-10 MLP instead")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    data = load_digits_split()
    model = digits_narrow_mlp(data) if opts.narrow else digits_mlp(data, outlier_scale=opts.outlier_scale)
    analyzer = Analyzer(model, CalibData(data.x_train[: opts.calib], "tensor"), batch_size=opts.calib)
    fp32 = accuracy(model(data.x_test).detach(), data.y_test)
    print(f"fp32 test accuracy {100 * fp32:.3g} % on {len(data.y_test)} images; calibration {opts.calib} images\n")
    print("| scheme | output SQNR (calib) | top-1 agreement (calib) | test accuracy loss | suggestion (top-1 >= 99 %) | loss with it |")
    print("|---|---|---|---|---|---|")
    for name in SCHEME_NAMES:
        scheme = get_scheme(name, group_size=32)
        predicted = analyzer.whole_model(scheme)
        loss = fp32 - accuracy(analyzer.forward_quantized(analyzer.plan(scheme), data.x_test), data.y_test)
        suggestion = analyzer.suggest_mixed_precision(scheme, analyzer.local_sensitivity([scheme]), target_top1=0.99)
        kept = suggestion.keep_16bit
        mixed = fp32 - accuracy(analyzer.forward_quantized(analyzer.plan(scheme, kept), data.x_test), data.y_test)
        sqnr = "exact" if predicted.output_sqnr_db is None else f"{predicted.output_sqnr_db:.3g} dB"
        print(f"| {name} | {sqnr} | {100 * predicted.top1_agreement:.3g} % | {100 * loss:.2g} pp | "
              f"keep {', '.join(kept) or 'none'} | {100 * mixed:.2g} pp |")


if __name__ == "__main__":
    main()
