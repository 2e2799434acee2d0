import math

from . import register_criterion


def label_smoothed_nll_loss(lprobs, target, epsilon, ignore_index=None, reduce=True):
    if target.dim() == lprobs.dim() - 1:
        target = target.unsqueeze(-1)
    nll_loss = -lprobs.gather(dim=-1, index=target)
    smooth_loss = -lprobs.sum(dim=-1, keepdim=True)
    if ignore_index is not None:
        pad_mask = target.eq(ignore_index)
        nll_loss.masked_fill_(pad_mask, 0.0)
        smooth_loss.masked_fill_(pad_mask, 0.0)
    if reduce:
        nll_loss = nll_loss.sum()
        smooth_loss = smooth_loss.sum()
    eps_i = epsilon / (lprobs.size(-1) - 1)
    loss = (1.0 - epsilon - eps_i) * nll_loss + eps_i * smooth_loss
    return loss, nll_loss


@register_criterion("label_smoothed_cross_entropy")
class LabelSmoothedCrossEntropyCriterion:
    def __init__(self, task, sentence_avg, label_smoothing):
        self.padding_idx = task.target_dictionary.pad()
        self.sentence_avg = sentence_avg
        self.eps = label_smoothing

    @classmethod
    def build(cls, args, task):
        return cls(task, args.sentence_avg, args.label_smoothing)

    def __call__(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        loss, nll_loss = self.compute_loss(model, net_output, sample, reduce=reduce)
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "nll_loss": nll_loss.data,
                          "ntokens": sample["ntokens"], "sample_size": sample_size}
        return loss, sample_size, logging_output

    def compute_loss(self, model, net_output, sample, reduce=True):
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        lprobs = lprobs.view(-1, lprobs.size(-1))
        target = sample["target"].view(-1)
        return label_smoothed_nll_loss(lprobs, target, self.eps, ignore_index=self.padding_idx,
                                       reduce=reduce)

    @staticmethod
    def reduce_metrics(logging_outputs):
        loss_sum = sum(log["loss"] for log in logging_outputs)
        nll_loss_sum = sum(log["nll_loss"] for log in logging_outputs)
        ntokens = sum(log["ntokens"] for log in logging_outputs)
        sample_size = sum(log["sample_size"] for log in logging_outputs)
        return {"loss": float(loss_sum) / sample_size / math.log(2),
                "nll_loss": float(nll_loss_sum) / ntokens / math.log(2)}
