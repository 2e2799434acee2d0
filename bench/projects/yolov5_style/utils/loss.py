import torch
import torch.nn as nn

from utils.torch_utils import de_parallel


def smooth_BCE(eps=0.1):
    return 1.0 - 0.5 * eps, 0.5 * eps


class ComputeLoss:
    """Objectness and class losses on a grid (YOLOv5's ComputeLoss without boxes)."""

    def __init__(self, model):
        device = next(model.parameters()).device
        h = model.hyp
        self.BCEcls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([h["cls_pw"]], device=device))
        self.BCEobj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([h["obj_pw"]], device=device))
        self.cp, self.cn = smooth_BCE(eps=0.0)
        m = de_parallel(model).model[-1]  # Detect() module
        self.nc = m.nc
        self.hyp = h
        self.device = device

    def __call__(self, p, targets):  # predictions, targets
        bs, ny, nx = p.shape[:3]
        tobj = torch.zeros((bs, ny, nx), device=self.device)
        b, c, gj, gi = self.build_targets(p, targets)
        tobj[b, gj, gi] = 1.0
        lobj = self.BCEobj(p[..., 0], tobj)
        lcls = torch.zeros(1, device=self.device)
        if b.shape[0]:
            pcls = p[b, gj, gi, 1:]
            t = torch.full_like(pcls, self.cn, device=self.device)
            t[range(b.shape[0]), c] = self.cp
            lcls = lcls + self.BCEcls(pcls, t)
        lobj = lobj * self.hyp["obj"]
        lcls = lcls * self.hyp["cls"]
        return (lobj + lcls) * bs, torch.cat((lobj.view(1), lcls)).detach()

    def build_targets(self, p, targets):
        # targets: image, class, x, y, w, h (normalized xywh)
        ny, nx = p.shape[1:3]
        b = targets[:, 0].long()
        c = targets[:, 1].long()
        gi = (targets[:, 2] * nx).long().clamp_(0, nx - 1)
        gj = (targets[:, 3] * ny).long().clamp_(0, ny - 1)
        return b, c, gj, gi
