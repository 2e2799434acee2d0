"""
Train a YOLOv5-style model on the synthetic shapes dataset.

Usage:
    $ python train.py --data data/shapes.yaml --hyp data/hyps/hyp.scratch-low.yaml --epochs 6
"""

import argparse
import math
import os
import random
import tempfile
import time
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.optim import lr_scheduler

import val as validate
from models.yolo import Model
from utils.dataloaders import create_dataloader
from utils.general import LOGGER, colorstr, one_cycle, yaml_load
from utils.loss import ComputeLoss
from utils.torch_utils import ModelEMA, de_parallel, smart_optimizer


def train(hyp, opt, device):
    save_dir, epochs, batch_size = Path(opt.save_dir), opt.epochs, opt.batch_size
    w = save_dir / "weights"
    w.mkdir(parents=True, exist_ok=True)
    last, best = w / "last.pt", w / "best.pt"

    if isinstance(hyp, str):
        hyp = yaml_load(hyp)
    LOGGER.info(colorstr("hyperparameters: ") + ", ".join(f"{k}={v}" for k, v in hyp.items()))
    opt.hyp = hyp.copy()

    init_seeds(opt.seed)
    data_dict = yaml_load(opt.data)
    nc = int(data_dict["nc"])

    model = Model(nc=nc).to(device)
    amp = opt.amp

    # Freeze
    freeze = [f"model.{x}." for x in (opt.freeze if len(opt.freeze) > 1 else range(opt.freeze[0]))]
    for k, v in model.named_parameters():
        v.requires_grad = True  # train all layers
        if any(x in k for x in freeze):
            LOGGER.info(f"freezing {k}")
            v.requires_grad = False

    # Optimizer
    nbs = 64  # nominal batch size
    accumulate = max(round(nbs / batch_size), 1)  # accumulate loss before optimizing
    hyp["weight_decay"] *= batch_size * accumulate / nbs  # scale weight_decay
    optimizer = smart_optimizer(model, opt.optimizer, hyp["lr0"], hyp["momentum"],
                                hyp["weight_decay"])

    # Scheduler
    lf = one_cycle(1, hyp["lrf"], epochs)  # cosine 1->hyp['lrf']
    scheduler = lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)

    # EMA
    ema = ModelEMA(model)

    # Trainloader
    train_loader, dataset = create_dataloader(data_dict["train"], batch_size, hyp=hyp,
                                              augment=True, seed=0, shuffle=True,
                                              workers=opt.workers, img=data_dict["img"],
                                              grid=data_dict["grid"], nc=nc)
    val_loader, _ = create_dataloader(data_dict["val"], batch_size * 2, seed=1,
                                      workers=opt.workers, img=data_dict["img"],
                                      grid=data_dict["grid"], nc=nc)

    # Model attributes
    model.nc = nc
    model.hyp = hyp

    # Start training
    t0 = time.time()
    nb = len(train_loader)  # number of batches
    nw = max(round(hyp["warmup_epochs"] * nb), 20)  # number of warmup iterations
    last_opt_step = -1
    results = (0, 0, 0, 0)  # P, R, val_obj, val_cls
    scheduler.last_epoch = -1
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    compute_loss = ComputeLoss(model)
    best_fitness = 0.0
    LOGGER.info(f"Image sizes {data_dict['img']} train, {data_dict['img']} val\n"
                f"Starting training for {epochs} epochs...")
    for epoch in range(epochs):
        model.train()
        mloss = torch.zeros(2, device=device)  # mean losses
        optimizer.zero_grad()
        for i, (imgs, targets) in enumerate(train_loader):
            ni = i + nb * epoch  # number integrated batches (since train start)
            imgs = imgs.to(device, non_blocking=True).float() / 255  # uint8 to float32, 0-255 to 0.0-1.0

            # Warmup
            if ni <= nw:
                xi = [0, nw]  # x interp
                accumulate = max(1, np.interp(ni, xi, [1, nbs / batch_size]).round())
                for j, x in enumerate(optimizer.param_groups):
                    # bias lr falls from 0.1 to lr0, all other lrs rise from 0.0 to lr0
                    x["lr"] = np.interp(ni, xi, [hyp["warmup_bias_lr"] if j == 0 else 0.0,
                                                 x["initial_lr"] * lf(epoch)])
                    if "momentum" in x:
                        x["momentum"] = np.interp(ni, xi, [hyp["warmup_momentum"], hyp["momentum"]])

            # Forward
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                pred = model(imgs)  # forward
                loss, loss_items = compute_loss(pred.float(), targets.to(device))

            # Backward
            scaler.scale(loss).backward()

            # Optimize
            if ni - last_opt_step >= accumulate:
                scaler.unscale_(optimizer)  # unscale gradients
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)  # clip gradients
                scaler.step(optimizer)  # optimizer.step
                scaler.update()
                optimizer.zero_grad()
                if ema:
                    ema.update(model)
                last_opt_step = ni

            mloss = (mloss * i + loss_items) / (i + 1)  # update mean losses
        # end batch

        # Scheduler
        lr = [x["lr"] for x in optimizer.param_groups]  # for loggers
        scheduler.step()

        # mAP
        ema.update_attr(model, include=["yaml", "nc", "hyp", "names", "stride", "class_weights"])
        results = validate.run(data_dict, batch_size=batch_size * 2, model=ema.ema,
                               dataloader=val_loader, compute_loss=compute_loss)
        fi = results[0] * 0.5 + results[1] * 0.5
        LOGGER.info(f"{epoch}/{epochs - 1} train obj {mloss[0]:.4f} cls {mloss[1]:.4f} "
                    f"val obj {results[2]:.4f} cls {results[3]:.4f} P {results[0]:.3f} "
                    f"R {results[1]:.3f} lr {lr[0]:.5f}")
        if fi > best_fitness:
            best_fitness = fi

        # Save model
        ckpt = {"epoch": epoch, "best_fitness": best_fitness, "model": deepcopy(de_parallel(model)),
                "ema": deepcopy(ema.ema), "updates": ema.updates,
                "optimizer": optimizer.state_dict(), "opt": vars(opt)}
        torch.save(ckpt, last)
        if best_fitness == fi:
            torch.save(ckpt, best)
        del ckpt
    LOGGER.info(f"{epochs} epochs completed in {(time.time() - t0) / 3600:.3f} hours.")
    return results


def init_seeds(seed=0):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def parse_opt():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=str, default="data/shapes.yaml", help="dataset.yaml path")
    parser.add_argument("--hyp", type=str, default="data/hyps/hyp.scratch-low.yaml")
    parser.add_argument("--epochs", type=int, default=5, help="total training epochs")
    parser.add_argument("--batch-size", type=int, default=16, help="total batch size")
    parser.add_argument("--optimizer", type=str, choices=["SGD", "Adam"], default="SGD")
    parser.add_argument("--workers", type=int, default=2, help="max dataloader workers")
    parser.add_argument("--freeze", nargs="+", type=int, default=[0],
                        help="Freeze layers: backbone=10, first3=0 1 2")
    parser.add_argument("--seed", type=int, default=0, help="Global training seed")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast on CPU")
    parser.add_argument("--project", default=None, help="save to project/name")
    return parser.parse_args()


def main(opt):
    opt.save_dir = opt.project or tempfile.mkdtemp(prefix="yolov5-")
    device = torch.device("cpu")
    train(opt.hyp, opt, device)


if __name__ == "__main__":
    opt = parse_opt()
    main(opt)
