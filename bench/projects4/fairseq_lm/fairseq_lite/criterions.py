"""A criterion in the manner of fairseq.criterions.cross_entropy: forward(model, sample)
returns (loss summed over the tokens, sample_size, logging_output)."""

import math

import torch.nn.functional as F
from torch.nn.modules.loss import _Loss

CRITERION_REGISTRY = {}


def register_criterion(name):
    def wrapper(cls):
        CRITERION_REGISTRY[name] = cls
        return cls
    return wrapper


@register_criterion("cross_entropy")
class CrossEntropyCriterion(_Loss):
    def __init__(self, task, sentence_avg=False):
        super().__init__()
        self.padding_idx = task.target_dictionary.pad()
        self.sentence_avg = sentence_avg

    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        lprobs = lprobs.view(-1, lprobs.size(-1))
        target = sample["target"].view(-1)
        loss = F.nll_loss(lprobs, target, ignore_index=self.padding_idx,
                          reduction="sum" if reduce else "none")
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "ntokens": sample["ntokens"],
                          "nsentences": sample["nsentences"], "sample_size": sample_size}
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs):
        loss_sum = sum(float(log.get("loss", 0)) for log in logging_outputs)
        sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
        return loss_sum / sample_size / math.log(2)
