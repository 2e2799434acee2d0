# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""jsyoon0823/Time-series-prediction#3 (https://github.com/jsyoon0823/Time-series-prediction/issues/3).
The repository's basic_attention.py (class Attention) and data_loader.py in PyTorch (the
repository is TensorFlow 1), the defaults of main_time_series_prediction.py, on a synthetic daily
stock table shaped like data/google.csv. The twin of s03."""

import numpy as np
import torch

np.random.seed(0)
torch.manual_seed(0)


def make_google_like_table(n=732):
    close = 560 + np.cumsum(np.random.normal(0.35, 7.0, n))
    open_ = close + np.random.normal(0, 4.0, n)
    high = np.maximum(open_, close) + np.abs(np.random.normal(0, 5.0, n))
    low = np.minimum(open_, close) - np.abs(np.random.normal(0, 5.0, n))
    volume = np.abs(np.random.normal(1.8e6, 6e5, n))
    table = np.stack([open_, high, low, volume, close], axis=1)
    return table[::-1]  # newest first, as in the csv


def MinMaxScaler(data):
  numerator = data - np.min(data, 0)
  denominator = np.max(data, 0) - np.min(data, 0)
  norm_data = numerator / (denominator + 1e-8)
  return norm_data


def data_loader(train_rate = 0.8, seq_len = 7):
  ori_data = make_google_like_table()
  # Reverse the time order
  reverse_data = ori_data[::-1]
  # Normalization
  norm_data = MinMaxScaler(reverse_data)

  data_x = []
  data_y = []

  for i in range(0, len(norm_data[:,0]) - seq_len):
    # Previous seq_len data as features
    temp_x = norm_data[i:i + seq_len,:]
    # Values at next time point as labels
    temp_y = norm_data[i + seq_len, [-1]]
    data_x = data_x + [temp_x]
    data_y = data_y + [temp_y]

  data_x = np.asarray(data_x, dtype=np.float32)
  data_y = np.asarray(data_y, dtype=np.float32)

  # Train / test Division
  idx = np.random.permutation(len(data_x))
  train_idx = idx[:int(train_rate * len(data_x))]
  test_idx = idx[int(train_rate * len(data_x)):]

  train_x, test_x = data_x[train_idx, :, :], data_x[test_idx, :, :]
  train_y, test_y = data_y[train_idx, :], data_y[test_idx, :]

  return train_x, train_y, test_x, test_y


def truncated_normal(*shape, stddev=.01):
  return torch.nn.init.trunc_normal_(torch.empty(*shape), mean=0, std=stddev, a=-2 * stddev, b=2 * stddev)


class Attention(torch.nn.Module):
  def __init__(self, model_parameters, x_dim, y_dim):
    super().__init__()
    self.task = model_parameters['task']
    self.h_dim = model_parameters['h_dim']
    self.batch_size = model_parameters['batch_size']
    self.epoch = model_parameters['epoch']
    self.learning_rate = model_parameters['learning_rate']
    h_dim = self.h_dim
    # Weights for GRU
    self.Wr = torch.nn.Parameter(torch.zeros(x_dim, h_dim))
    self.Ur = torch.nn.Parameter(torch.zeros(h_dim, h_dim))
    self.br = torch.nn.Parameter(torch.zeros(h_dim))
    self.Wu = torch.nn.Parameter(torch.zeros(x_dim, h_dim))
    self.Uu = torch.nn.Parameter(torch.zeros(h_dim, h_dim))
    self.bu = torch.nn.Parameter(torch.zeros(h_dim))
    self.Wh = torch.nn.Parameter(torch.zeros(x_dim, h_dim))
    self.Uh = torch.nn.Parameter(torch.zeros(h_dim, h_dim))
    self.bh = torch.nn.Parameter(torch.zeros(h_dim))
    # Weights for attention mechanism
    self.Wa1 = torch.nn.Parameter(truncated_normal(h_dim + x_dim, h_dim))
    self.Wa2 = torch.nn.Parameter(truncated_normal(h_dim, y_dim))
    self.ba1 = torch.nn.Parameter(truncated_normal(h_dim))
    self.ba2 = torch.nn.Parameter(truncated_normal(y_dim))
    # Weights for output layers
    self.Wo = torch.nn.Parameter(truncated_normal(h_dim, y_dim))
    self.bo = torch.nn.Parameter(truncated_normal(y_dim))
    self.x_dim = x_dim

  def GRU(self, previous_hidden_state, x):
    # R Gate
    r = torch.sigmoid(x @ self.Wr + previous_hidden_state @ self.Ur + self.br)
    # U Gate
    u = torch.sigmoid(x @ self.Wu + previous_hidden_state @ self.Uu + self.bu)
    # Final Memory cell
    c = torch.tanh(x @ self.Wh + (r * previous_hidden_state) @ self.Uh + self.bh)
    # Current Hidden state
    current_hidden_state = (1 - u) * previous_hidden_state + u * c
    return current_hidden_state

  def forward(self, _inputs):
    processed_input = _inputs.transpose(0, 1)  # [seq, batch, x_dim], what tf.scan walks over
    initial_hidden = _inputs[:, 0, :] @ torch.zeros(self.x_dim, self.h_dim)
    states, h = [], initial_hidden
    for x_t in processed_input:
      h = self.GRU(h, x_t)
      states.append(h)
    all_hidden_states = torch.stack(states)  # [seq, batch, h_dim]
    inputs = torch.cat((all_hidden_states, processed_input[-1].expand(len(states), -1, -1)), dim=2)
    all_attention = torch.tanh(inputs @ self.Wa1 + self.ba1) @ self.Wa2 + self.ba2
    a_values = torch.softmax(all_attention, dim=0)
    final_hidden_state = torch.einsum('ijk,ijl->jkl', a_values, all_hidden_states)
    output = torch.sigmoid(final_hidden_state[:, 0, :] @ self.Wo + self.bo)
    return output

  def sample_X(self, m, n):
    return np.random.permutation(m)[:n]

  def fit(self, x, y):
    no, seq_len, x_dim = x.shape
    optimizer = torch.optim.Adam(self.parameters(), lr=self.learning_rate)
    iteration_per_epoch = int(no/self.batch_size)
    iterations = int((self.epoch * no) / self.batch_size)
    for i in range(iterations):
      idx = self.sample_X(no, self.batch_size)
      Input = torch.from_numpy(x[idx,:,:])
      Y = torch.from_numpy(y[idx])
      outputs = self(Input)
      if self.task == 'classification':
        loss = torch.mean(Y * torch.log(outputs + 1e-8) + (1-Y) * torch.log(1-outputs + 1e-8))
      elif self.task == 'regression':
        loss = torch.sqrt(torch.mean(torch.square(outputs - Y)))
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
      step_loss = loss.item()
      if i % iteration_per_epoch == iteration_per_epoch-1 and int(i/iteration_per_epoch) % 10 == 9:
        print('Epoch: ' + str(int(i/iteration_per_epoch)) + ', Loss: ' + str(np.round(step_loss, 4)))

  def predict(self, test_x):
    with torch.no_grad():
      return self(torch.from_numpy(test_x)).numpy()


def main():
  train_x, train_y, test_x, test_y = data_loader(0.8, 7)
  model_parameters = {'task': 'regression', 'model_type': 'attention', 'h_dim': 10, 'n_layer': 3,
                      'batch_size': 32, 'epoch': 100, 'learning_rate': 0.01}
  basic_attention = Attention(model_parameters, train_x.shape[2], train_y.shape[1])
  basic_attention.fit(train_x, train_y)
  test_y_hat = basic_attention.predict(test_x)
  result = np.round(np.mean(np.abs(test_y - test_y_hat)), 4)
  print('Performance (mae): ' + str(result) + ' (labels from %.1f to %.1f, predictions from %.3f to %.3f)' % (test_y.min(), test_y.max(), test_y_hat.min(), test_y_hat.max()))


if __name__ == '__main__':
  main()
