"""Pretraining on unlabeled data, in the manner of chapter 5 (gpt_train.py): train_model_simple,
calc_loss_batch / calc_loss_loader, evaluate_model every eval_freq steps."""

import argparse

import torch

from data import SimpleTokenizerV2, build_vocab, create_dataloader_v1, make_corpus
from gpt import GPTModel, generate_text_simple

GPT_CONFIG_TINY = {
    "vocab_size": None,      # set from the tokenizer
    "context_length": 32,
    "emb_dim": 64,
    "n_heads": 4,
    "n_layers": 2,
    "drop_rate": 0.1,
    "qkv_bias": False,
}

OTHER_SETTINGS = {
    "learning_rate": 2e-3,
    "num_epochs": 5,
    "batch_size": 16,
    "weight_decay": 0.1,
}


def text_to_token_ids(text, tokenizer):
    return torch.tensor(tokenizer.encode(text)).unsqueeze(0)


def token_ids_to_text(token_ids, tokenizer):
    return tokenizer.decode(token_ids.squeeze(0).tolist())


def calc_loss_batch(input_batch, target_batch, model, device):
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def calc_loss_loader(data_loader, model, device, num_batches=None):
    total_loss = 0.
    if len(data_loader) == 0:
        return float("nan")
    elif num_batches is None:
        num_batches = len(data_loader)
    else:
        num_batches = min(num_batches, len(data_loader))
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i < num_batches:
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            total_loss += loss.item()
        else:
            break
    return total_loss / num_batches


def evaluate_model(model, train_loader, val_loader, device, eval_iter):
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, device, num_batches=eval_iter)
        val_loss = calc_loss_loader(val_loader, model, device, num_batches=eval_iter)
    model.train()
    return train_loss, val_loss


def generate_and_print_sample(model, tokenizer, device, start_context):
    model.eval()
    context_size = model.pos_emb.weight.shape[0]
    encoded = text_to_token_ids(start_context, tokenizer).to(device)
    with torch.no_grad():
        token_ids = generate_text_simple(model=model, idx=encoded, max_new_tokens=12,
                                         context_size=context_size)
    print(token_ids_to_text(token_ids, tokenizer).replace("\n", " "))
    model.train()


def train_model_simple(model, train_loader, val_loader, optimizer, device, num_epochs,
                       eval_freq, eval_iter, start_context, tokenizer):
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1
    for epoch in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            optimizer.zero_grad()
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            loss.backward()
            optimizer.step()
            tokens_seen += input_batch.numel()
            global_step += 1
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device,
                                                      eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                print(f"Ep {epoch + 1} (Step {global_step:06d}): "
                      f"Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")
        generate_and_print_sample(model, tokenizer, device, start_context)
    return train_losses, val_losses, track_tokens_seen


def main(gpt_config, settings):
    torch.manual_seed(123)
    device = torch.device("cpu")
    text_data = make_corpus()
    tokenizer = SimpleTokenizerV2(build_vocab(text_data))
    gpt_config = {**gpt_config, "vocab_size": len(tokenizer.str_to_int)}
    model = GPTModel(gpt_config)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"],
                                  weight_decay=settings["weight_decay"])

    train_ratio = 0.90
    split_idx = int(train_ratio * len(text_data))
    train_loader = create_dataloader_v1(
        text_data[:split_idx], tokenizer, batch_size=settings["batch_size"],
        max_length=gpt_config["context_length"], stride=gpt_config["context_length"],
        drop_last=True, shuffle=True, num_workers=0)
    val_loader = create_dataloader_v1(
        text_data[split_idx:], tokenizer, batch_size=settings["batch_size"],
        max_length=gpt_config["context_length"], stride=gpt_config["context_length"],
        drop_last=False, shuffle=False, num_workers=0)

    train_losses, val_losses, tokens_seen = train_model_simple(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=settings["num_epochs"], eval_freq=10, eval_iter=5,
        start_context="w01 w02", tokenizer=tokenizer)
    return train_losses, val_losses, tokens_seen, model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="GPT model training code")
    for key, value in {**GPT_CONFIG_TINY, **OTHER_SETTINGS}.items():
        if value is None:
            continue
        kind = type(value) if not isinstance(value, bool) else (lambda s: s.lower() == "true")
        parser.add_argument(f"--{key}", type=kind, default=value)
    args = vars(parser.parse_args())
    gpt_config = {k: args.get(k, v) for k, v in GPT_CONFIG_TINY.items()}
    settings = {k: args[k] for k in OTHER_SETTINGS}
    train_losses, val_losses, tokens_seen, model = main(gpt_config, settings)
    print(f"final val loss {val_losses[-1]:.3f}")
