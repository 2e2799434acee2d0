# lossdoctor-expect: unnormalized_inputs
# source: https://github.com/jaredleekatzman/DeepSurv/issues/14
# answer: on the raw flchain / aids2 columns the loss goes to NaN; normalize the features (MinMaxScaler) and it trains
# ruff: noqa: E501
"""DeepSurv (an MLP risk score trained with the negative Cox partial log-likelihood, computed as
log(cumsum(exp(risk))) like the original Theano code; SGD with Nesterov momentum) on raw
flchain-like columns: age, sex, sample year, kappa, lambda, creatinine, mgus."""

import torch
from torch import nn

torch.manual_seed(0)

n = 1500
age = 50 + 45 * torch.rand(n)
sex = torch.randint(0, 2, (n,)).float()
sample_yr = torch.randint(1995, 2004, (n,)).float()
kappa = torch.distributions.LogNormal(0.2, 0.5).sample((n,))
lambd = torch.distributions.LogNormal(0.4, 0.5).sample((n,))
creatinine = torch.distributions.LogNormal(0.0, 0.3).sample((n,))
mgus = (torch.rand(n) < 0.05).float()
x = torch.stack([age, sex, sample_yr, kappa, lambd, creatinine, mgus], dim=1)

true_risk = 0.08 * (age - 70) + 0.5 * torch.log(kappa * lambd) + 0.6 * torch.log(creatinine)
time = torch.distributions.Exponential(0.02 * torch.exp(true_risk)).sample()
event = (torch.rand(n) < 0.7).float()

train, valid = slice(0, 1200), slice(1200, n)

network = nn.Sequential(nn.Linear(7, 25), nn.ReLU(), nn.Dropout(0.1), nn.Linear(25, 1))
optimizer = torch.optim.SGD(network.parameters(), lr=1e-2, momentum=0.9, nesterov=True)


def negative_log_likelihood(risk, time, event):
    order = torch.argsort(time, descending=True)
    risk, event = risk[order], event[order]
    hazard_ratio = torch.exp(risk)
    log_risk = torch.log(torch.cumsum(hazard_ratio, dim=0))
    uncensored_likelihood = risk - log_risk
    return -torch.sum(uncensored_likelihood * event) / torch.sum(event)


for epoch in range(300):
    network.train()
    optimizer.zero_grad()
    loss = negative_log_likelihood(network(x[train]).squeeze(1), time[train], event[train])
    loss.backward()
    optimizer.step()
    if epoch % 30 == 0:
        network.eval()
        with torch.no_grad():
            valid_loss = negative_log_likelihood(network(x[valid]).squeeze(1), time[valid], event[valid])
        print(f"epoch {epoch} train loss {loss.item():.4f} valid loss {valid_loss.item():.4f}")
