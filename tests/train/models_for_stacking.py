"""Model functions for the stacked-engine tests (loaded by path as a user's file)."""
import torch
from torch import nn


def mlp(act_layer=nn.ReLU, input_shape=(4,), n_outputs=3):
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), 12), act_layer(),
                         nn.Linear(12, 12), act_layer(), nn.Linear(12, n_outputs))


class Branchy(nn.Module):
    def __init__(self, n_outputs):
        super().__init__()
        self.fc = nn.Linear(4, n_outputs)
        self.act = nn.ReLU()

    def forward(self, x):
        if x.sum() > 0:  # data-dependent Python control flow: vmap cannot run it
            return self.fc(self.act(x))
        return self.fc(x)


def branchy(n_outputs=3):
    return Branchy(n_outputs)
