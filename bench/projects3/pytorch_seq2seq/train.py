"""Training and evaluating the GRU encoder-decoder, in the manner of bentrevett/pytorch-seq2seq
(2 - Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
Translation): train() with teacher forcing and clip_grad_norm_, evaluate() without, the best
validation loss saved."""

import argparse
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

from data import PAD_IDX, get_iterators
from models import Decoder, Encoder, Seq2Seq, init_weights


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--enc-emb-dim", type=int, default=32)
    parser.add_argument("--dec-emb-dim", type=int, default=32)
    parser.add_argument("--hid-dim", type=int, default=128)
    parser.add_argument("--enc-dropout", type=float, default=0.2)
    parser.add_argument("--dec-dropout", type=float, default=0.2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--n-epochs", type=int, default=12)
    parser.add_argument("--clip", type=float, default=1.0)
    return parser.parse_args()


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(model, iterator, optimizer, criterion, clip):
    model.train()
    epoch_loss = 0
    for i, (src, src_len, trg) in enumerate(iterator):
        optimizer.zero_grad()
        output = model(src, src_len, trg)
        # trg = [trg len, batch size]; output = [trg len, batch size, output dim]
        output_dim = output.shape[-1]
        output = output[1:].view(-1, output_dim)
        trg = trg[1:].view(-1)
        loss = criterion(output, trg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        epoch_loss += loss.item()
    return epoch_loss / len(iterator)


def evaluate(model, iterator, criterion):
    model.eval()
    epoch_loss = 0
    with torch.no_grad():
        for i, (src, src_len, trg) in enumerate(iterator):
            output = model(src, src_len, trg, 0)  # turn off teacher forcing
            output_dim = output.shape[-1]
            output = output[1:].view(-1, output_dim)
            trg = trg[1:].view(-1)
            loss = criterion(output, trg)
            epoch_loss += loss.item()
    return epoch_loss / len(iterator)


def epoch_time(start_time, end_time):
    elapsed_time = end_time - start_time
    elapsed_mins = int(elapsed_time / 60)
    elapsed_secs = int(elapsed_time - (elapsed_mins * 60))
    return elapsed_mins, elapsed_secs


def main():
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    train_iterator, valid_iterator, src_vocab, trg_vocab = get_iterators(args.batch_size)

    enc = Encoder(len(src_vocab), args.enc_emb_dim, args.hid_dim, args.enc_dropout)
    dec = Decoder(len(trg_vocab), args.dec_emb_dim, args.hid_dim, args.dec_dropout)
    model = Seq2Seq(enc, dec, device).to(device)
    model.apply(init_weights)
    print(f"The model has {count_parameters(model):,} trainable parameters")

    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD_IDX)

    best_valid_loss = float("inf")
    for epoch in range(args.n_epochs):
        start_time = time.time()
        train_loss = train(model, train_iterator, optimizer, criterion, args.clip)
        valid_loss = evaluate(model, valid_iterator, criterion)
        end_time = time.time()
        epoch_mins, epoch_secs = epoch_time(start_time, end_time)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            torch.save(model.state_dict(), "tut2-model.pt")
        print(f"Epoch: {epoch + 1:02} | Time: {epoch_mins}m {epoch_secs}s")
        print(f"\tTrain Loss: {train_loss:.3f} | Train PPL: {math.exp(train_loss):7.3f}")
        print(f"\t Val. Loss: {valid_loss:.3f} |  Val. PPL: {math.exp(valid_loss):7.3f}")


if __name__ == "__main__":
    main()
