"""Validate a trained YOLOv5-style model on the validation images: python val.py --weights ..."""

import argparse

import torch

from utils.general import LOGGER


@torch.no_grad()
def run(data, weights=None, batch_size=32, model=None, dataloader=None, compute_loss=None,
        conf_thres=0.5):
    training = model is not None
    if not training:
        ckpt = torch.load(weights, weights_only=False)
        model = ckpt["ema"] or ckpt["model"]
    model.eval()
    nc = int(data["nc"])
    loss = torch.zeros(2)
    tp, fp, npos = 0, 0, 0
    for im, targets in dataloader:
        im = im.float() / 255  # 0 - 255 to 0.0 - 1.0
        preds, train_out = model(im)
        if compute_loss:
            loss += compute_loss(train_out, targets)[1]  # obj, cls
        # greedy matching of confident cells with labels of the same class
        for si in range(im.shape[0]):
            labels = targets[targets[:, 0] == si]
            pred = preds[si].reshape(-1, nc + 1)
            keep = pred[:, 0] > conf_thres
            ny = nx = preds.shape[1]
            cells = {int(l[3] * ny) * nx + int(l[2] * nx): int(l[1]) for l in labels}
            npos += len(cells)
            for idx in keep.nonzero().flatten().tolist():
                if cells.get(idx) == int(pred[idx, 1:].argmax()):
                    tp += 1
                else:
                    fp += 1
    mp = tp / max(tp + fp, 1)
    mr = tp / max(npos, 1)
    LOGGER.info(f"{'all':>22}{npos:>11}{mp:>11.3g}{mr:>11.3g}")
    model.float()
    return (mp, mr, *(loss.cpu() / len(dataloader)).tolist())


def parse_opt():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=str, default="last.pt")
    parser.add_argument("--batch-size", type=int, default=32)
    return parser.parse_args()


if __name__ == "__main__":
    from utils.dataloaders import create_dataloader
    from utils.general import yaml_load

    opt = parse_opt()
    data = yaml_load("data/shapes.yaml")
    loader, _ = create_dataloader(data["val"], opt.batch_size, seed=1)
    run(data, opt.weights, dataloader=loader)
