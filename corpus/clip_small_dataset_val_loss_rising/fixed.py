# lossdoctor-expect:
# source: https://github.com/moein-shariatnia/OpenAI-CLIP/issues/9
# fix: stop as soon as the validation loss rises and keep the best epoch's weights (train only as long as the small dataset supports)
# ruff: noqa: E501
"""The tutorial's CLIP (an image encoder and a text encoder, projection heads to a shared space,
the symmetric contrastive loss with temperature 1.0, AdamW) trained, fixed: only while its validation loss falls, on a
small captioned-image set (synthetic here: 200 image feature vectors and token captions that
share a latent scene)."""

import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)

n_train, n_valid, vocab, caption_len = 200, 200, 100, 8
to_image, to_words = torch.randn(6, 64), torch.randn(6, vocab)


def make_pairs(n):
    scenes = torch.randn(n, 6)
    images = scenes @ to_image + 2.0 * torch.randn(n, 64)
    word_logits = 2 * scenes @ to_words
    captions = torch.multinomial(torch.softmax(word_logits, dim=1), caption_len, replacement=True)
    return images, captions


class ProjectionHead(nn.Module):
    def __init__(self, embedding_dim, projection_dim=32, dropout=0.1):
        super().__init__()
        self.projection = nn.Linear(embedding_dim, projection_dim)
        self.fc = nn.Linear(projection_dim, projection_dim)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(projection_dim)

    def forward(self, x):
        projected = self.projection(x)
        x = self.dropout(self.fc(F.gelu(projected)))
        return self.layer_norm(x + projected)


class CLIPModel(nn.Module):
    def __init__(self, temperature=1.0):
        super().__init__()
        self.image_encoder = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128))
        self.text_encoder = nn.EmbeddingBag(vocab, 128)
        self.image_projection, self.text_projection = ProjectionHead(128), ProjectionHead(128)
        self.temperature = temperature

    def forward(self, images, captions):
        image_embeddings = self.image_projection(self.image_encoder(images))
        text_embeddings = self.text_projection(self.text_encoder(captions))
        logits = text_embeddings @ image_embeddings.T / self.temperature
        images_similarity = image_embeddings @ image_embeddings.T
        texts_similarity = text_embeddings @ text_embeddings.T
        targets = F.softmax((images_similarity + texts_similarity) / 2 * self.temperature, dim=-1)
        texts_loss = (-targets * F.log_softmax(logits, dim=-1)).sum(1)
        images_loss = (-targets.T * F.log_softmax(logits.T, dim=-1)).sum(1)
        return ((images_loss + texts_loss) / 2.0).mean()


train_images, train_captions = make_pairs(n_train)
valid_images, valid_captions = make_pairs(n_valid)
model = CLIPModel()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)

best_loss, best_state = float("inf"), None
for epoch in range(16):
    model.train()
    order = torch.randperm(n_train)
    for start in range(0, n_train, 32):
        idx = order[start:start + 32]
        optimizer.zero_grad()
        loss = model(train_images[idx], train_captions[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        valid_loss = sum(model(valid_images[s:s + 32], valid_captions[s:s + 32]).item()
                         for s in range(0, n_valid, 32)) / len(range(0, n_valid, 32))
    print(f"epoch {epoch + 1} train loss {loss.item():.4f} valid loss {valid_loss:.4f}")
    if valid_loss >= best_loss:
        model.load_state_dict(best_state)
        break
    best_loss, best_state = valid_loss, {k: v.clone() for k, v in model.state_dict().items()}
