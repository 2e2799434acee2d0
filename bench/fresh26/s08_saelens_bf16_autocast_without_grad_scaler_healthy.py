# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""decoderesearch/SAELens#723 (https://github.com/decoderesearch/SAELens/pull/723): "fix: remove
the unused GradScaler from SAETrainer". Here the trainer after that PR on the CPU: a standard SAE
whose training_forward_pass computes the loss, Adam(3e-4) with a linear warm-up of the learning
rate and of the L1 coefficient, the forward pass and loss under bfloat16 autocast, backward and
step with no scaler, gradient clipping at 1.0, and a held-out evaluation every 100 steps; the
"model activations" are synthetic (64-dimensional sparse sums of 256 fixed unit directions)."""

from dataclasses import dataclass

import torch
import torch.nn as nn

torch.manual_seed(0)

D_IN, D_SAE, N_TRUE = 64, 256, 256
true_directions = nn.functional.normalize(torch.randn(N_TRUE, D_IN), dim=1)


def activation_batch(n, generator):
    active = torch.rand(n, N_TRUE, generator=generator) < 4 / N_TRUE
    magnitudes = torch.rand(n, N_TRUE, generator=generator) * 3.0
    acts = (active * magnitudes) @ true_directions
    return acts + 0.02 * torch.randn(n, D_IN, generator=generator)


@dataclass
class TrainStepOutput:
    sae_in: torch.Tensor
    sae_out: torch.Tensor
    feature_acts: torch.Tensor
    loss: torch.Tensor
    mse_loss: float
    l1_loss: float


class StandardSAE(nn.Module):
    def __init__(self, d_in, d_sae):
        super().__init__()
        self.W_dec = nn.Parameter(nn.init.kaiming_uniform_(torch.empty(d_sae, d_in)))
        with torch.no_grad():
            self.W_dec.data /= self.W_dec.norm(dim=-1, keepdim=True)
        self.W_enc = nn.Parameter(self.W_dec.data.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def encode(self, x):
        return torch.relu((x - self.b_dec) @ self.W_enc + self.b_enc)

    def decode(self, feature_acts):
        return feature_acts @ self.W_dec + self.b_dec

    def forward(self, x):
        return self.decode(self.encode(x))

    def training_forward_pass(self, sae_in, current_l1_coefficient):
        feature_acts = self.encode(sae_in)
        sae_out = self.decode(feature_acts)
        mse_loss = (sae_out - sae_in).pow(2).sum(dim=-1).mean()
        weighted_feature_acts = feature_acts * self.W_dec.norm(dim=1)
        l1_loss = current_l1_coefficient * weighted_feature_acts.norm(p=1, dim=-1).mean()
        loss = mse_loss + l1_loss
        return TrainStepOutput(sae_in, sae_out, feature_acts, loss, mse_loss.item(), l1_loss.item())


class SAETrainer:
    def __init__(self, sae, total_training_steps, lr=3e-4, l1_coefficient=0.5, warmup_steps=100, autocast=True, device="cpu"):
        self.sae = sae
        self.total_training_steps = total_training_steps
        self.lr, self.l1_coefficient, self.warmup_steps = lr, l1_coefficient, warmup_steps
        self.autocast, self.device = autocast, device
        self.optimizer = torch.optim.Adam(sae.parameters(), lr=lr, betas=(0.9, 0.999))
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: min(1.0, (step + 1) / warmup_steps))
        self.n_training_steps = 0

    @property
    def current_l1_coefficient(self):
        return self.l1_coefficient * min(1.0, (self.n_training_steps + 1) / self.warmup_steps)

    def _train_step(self, sae_in):
        self.sae.train()
        with torch.autocast(device_type=self.device, dtype=torch.bfloat16, enabled=self.autocast):
            train_step_output = self.sae.training_forward_pass(sae_in, self.current_l1_coefficient)
        train_step_output.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.sae.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.lr_scheduler.step()
        return train_step_output

    @torch.no_grad()
    def run_evals(self, eval_batch):
        self.sae.eval()
        with torch.autocast(device_type=self.device, dtype=torch.bfloat16, enabled=self.autocast):
            out = self.sae.training_forward_pass(eval_batch, self.current_l1_coefficient)
        explained = 1 - (out.sae_out.float() - eval_batch).pow(2).sum() / (eval_batch - eval_batch.mean(0)).pow(2).sum()
        l0 = (out.feature_acts > 0).float().sum(-1).mean()
        return out.loss.item(), explained.item(), l0.item()

    def fit(self, data_generator, eval_batch, batch_size=256):
        while self.n_training_steps < self.total_training_steps:
            step_output = self._train_step(activation_batch(batch_size, data_generator))
            self.n_training_steps += 1
            if self.n_training_steps % 100 == 0:
                eval_loss, explained, l0 = self.run_evals(eval_batch)
                print("step %4d  train loss %.4f (mse %.4f, l1 %.4f)  eval loss %.4f  explained variance %.3f  L0 %.1f" % (
                    self.n_training_steps, step_output.loss.item(), step_output.mse_loss, step_output.l1_loss, eval_loss, explained, l0))


generator = torch.Generator().manual_seed(1)
eval_batch = activation_batch(2048, torch.Generator().manual_seed(2))
sae = StandardSAE(D_IN, D_SAE)
trainer = SAETrainer(sae, total_training_steps=1500)
trainer.fit(generator, eval_batch)
