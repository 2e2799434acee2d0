import math

import torch.nn.functional as F

from . import register_criterion


@register_criterion("cross_entropy")
class CrossEntropyCriterion:
    def __init__(self, task, sentence_avg=False):
        self.padding_idx = task.target_dictionary.pad()
        self.sentence_avg = sentence_avg

    @classmethod
    def build(cls, args, task):
        return cls(task, args.sentence_avg)

    def __call__(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        lprobs = lprobs.view(-1, lprobs.size(-1))
        target = sample["target"].view(-1)
        loss = F.nll_loss(lprobs, target, ignore_index=self.padding_idx,
                          reduction="sum" if reduce else "none")
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "ntokens": sample["ntokens"],
                          "sample_size": sample_size}
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs):
        loss_sum = sum(log["loss"] for log in logging_outputs)
        sample_size = sum(log["sample_size"] for log in logging_outputs)
        return {"loss": float(loss_sum) / sample_size / math.log(2)}
