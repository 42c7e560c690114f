"""Small models for the exporter's tests: heads in a ModuleList, a ModuleDict, an in-place hazard."""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F


class ListHeads(nn.Module):
    """A backbone and three heads in a ModuleList; `shared=True` puts one head object in all three places."""

    def __init__(self, shared=False):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        head = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
        self.heads = nn.ModuleList([head if shared else copy.deepcopy(head) for _ in range(3)])

    def forward(self, x):
        t = self.backbone(x)
        return torch.cat([h(t) for h in self.heads], dim=1)


class DictHeads(nn.Module):
    """Heads in a ModuleDict whose classifiers are tied by assignment when `tied=True`."""

    def __init__(self, tied=False):
        super().__init__()
        self.trunk = nn.Linear(16, 8)
        self.heads = nn.ModuleDict({"age": nn.Linear(8, 4), "sex": nn.Linear(8, 4)})
        if tied:
            self.heads["sex"].weight = self.heads["age"].weight

    def forward(self, x):
        t = F.relu(self.trunk(x))
        return torch.cat([self.heads["age"](t), self.heads["sex"](t)], dim=1)


class TokenHeads(nn.Module):
    """Token ids and an attention mask, given by keyword as a language model takes them; two heads."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.start = nn.Linear(8, 1)
        self.end = nn.Linear(8, 1)

    def forward(self, input_ids, attention_mask):
        t = self.embed(input_ids) * attention_mask.unsqueeze(-1)
        return self.start(t), self.end(t)
