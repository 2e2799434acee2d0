"""fairseq-style command line: --task, --arch, --criterion, --optimizer, --lr-scheduler and
their options, with fairseq's defaults where fairseq has one."""

import argparse


def get_training_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default="data-bin/synthetic.s-t")
    parser.add_argument("--task", default="translation")
    parser.add_argument("--source-lang", "-s", default="s")
    parser.add_argument("--target-lang", "-t", default="t")
    parser.add_argument("--arch", "-a", default="gru_attention")
    parser.add_argument("--encoder-embed-dim", type=int, default=32)
    parser.add_argument("--decoder-embed-dim", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--criterion", default="label_smoothed_cross_entropy")
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--sentence-avg", action="store_true")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--adam-betas", default="(0.9, 0.98)")
    parser.add_argument("--adam-eps", type=float, default=1e-8)
    parser.add_argument("--weight-decay", "--wd", type=float, default=0.0)
    parser.add_argument("--lr", type=lambda s: [float(v) for v in s.split(",")], default=[5e-3])
    parser.add_argument("--lr-scheduler", default="inverse_sqrt")
    parser.add_argument("--warmup-updates", type=int, default=50)
    parser.add_argument("--warmup-init-lr", type=float, default=-1)
    parser.add_argument("--clip-norm", type=float, default=1.0)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--max-epoch", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=25)
    return parser
