"""LanguagePairDataset and its collater as fairseq writes them: sources padded on the left,
targets on the right, the batch sorted by source length (descending) for packed encoders, and
prev_output_tokens (</s> then the target, shifted right) for teacher forcing."""

import torch


def collate_tokens(values, pad_idx, left_pad, move_eos_to_beginning=False, eos_idx=None):
    size = max(len(v) for v in values)
    res = torch.full((len(values), size), pad_idx, dtype=torch.long)
    for i, v in enumerate(values):
        v = torch.tensor(v)
        if move_eos_to_beginning:
            v = torch.cat([v[-1:].fill_(eos_idx), v[:-1]])
        if left_pad:
            res[i, size - len(v):] = v
        else:
            res[i, :len(v)] = v
    return res


def collate(samples, pad_idx, eos_idx, left_pad_source=True, left_pad_target=False):
    if len(samples) == 0:
        return {}
    id = torch.LongTensor([s["id"] for s in samples])
    src_tokens = collate_tokens([s["source"] for s in samples], pad_idx, left_pad_source)
    src_lengths = torch.LongTensor([len(s["source"]) for s in samples])
    src_lengths, sort_order = src_lengths.sort(descending=True)
    id = id.index_select(0, sort_order)
    src_tokens = src_tokens.index_select(0, sort_order)
    target = collate_tokens([s["target"] for s in samples], pad_idx, left_pad_target)
    target = target.index_select(0, sort_order)
    prev_output_tokens = collate_tokens([s["target"] for s in samples], pad_idx, left_pad_target,
                                        move_eos_to_beginning=True, eos_idx=eos_idx)
    prev_output_tokens = prev_output_tokens.index_select(0, sort_order)
    ntokens = sum(len(s["target"]) for s in samples)
    return {"id": id, "nsentences": len(samples), "ntokens": ntokens,
            "net_input": {"src_tokens": src_tokens, "src_lengths": src_lengths,
                          "prev_output_tokens": prev_output_tokens},
            "target": target}


class LanguagePairDataset(torch.utils.data.Dataset):
    def __init__(self, src, tgt, src_dict, tgt_dict):
        self.src, self.tgt = src, tgt
        self.src_dict, self.tgt_dict = src_dict, tgt_dict

    def __getitem__(self, index):
        return {"id": index, "source": self.src[index], "target": self.tgt[index]}

    def __len__(self):
        return len(self.src)

    def num_tokens(self, index):
        return max(len(self.src[index]), len(self.tgt[index]))

    def ordered_indices(self):
        return sorted(range(len(self)), key=self.num_tokens)

    def collater(self, samples):
        return collate(samples, self.src_dict.pad(), self.src_dict.eos())
