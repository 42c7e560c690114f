"""The seed: a DenseNet-121 trunk with five heads that were meant to be independent.

`samples/densenet121_multihead.json` says the same thing as this file in graphcheck's model spec;
`samples/densenet121_multihead_fixed.json` is the `fixed=True` variant. Kept here so the PyTorch
exporter fixtures can be generated from the very same model.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HEAD_OUTPUTS = [1, 4, 2, 8, 3]


class DenseNet121MultiHead(nn.Module):
    def __init__(self, fixed: bool = False):
        super().__init__()
        original_model = torchvision.models.densenet121(weights=None)
        self.trunk = original_model.features[:-2]
        take = copy.deepcopy if fixed else (lambda m: m)
        # Slicing an nn.Sequential makes a new container around the *same* child modules.
        self.branch1 = take(original_model.features[-2:])
        self.branch2 = take(original_model.features[-2:])
        self.branch3 = take(original_model.features[-2:])
        self.branch4 = take(original_model.features[-2:])
        self.branch5 = take(original_model.features[-2:])
        self.classifier1 = nn.Linear(1024, HEAD_OUTPUTS[0])
        self.classifier2 = nn.Linear(1024, HEAD_OUTPUTS[1])
        self.classifier3 = nn.Linear(1024, HEAD_OUTPUTS[2])
        self.classifier4 = nn.Linear(1024, HEAD_OUTPUTS[3])
        self.classifier5 = nn.Linear(1024, HEAD_OUTPUTS[4])

    def head(self, branch, classifier, x):
        y = branch(x)
        y = F.relu(y, inplace=True)
        y = F.adaptive_avg_pool2d(y, (1, 1))
        y = y.view(y.size(0), -1)
        return classifier(y)

    def forward(self, x):
        x = self.trunk(x)
        o1 = self.head(self.branch1, self.classifier1, x)
        o2 = self.head(self.branch2, self.classifier2, x)
        o3 = self.head(self.branch3, self.classifier3, x)
        o4 = self.head(self.branch4, self.classifier4, x)
        o5 = self.head(self.branch5, self.classifier5, x)
        # The 18 outputs in label order: heads 2 and 4 are split and interleaved with the others.
        return torch.cat([o1, o3, o2[:, :2], o5, o2[:, 2:], o4], dim=1)


if __name__ == "__main__":
    from collections import Counter

    for fixed in (False, True):
        model = DenseNet121MultiHead(fixed=fixed).train()
        calls = Counter()
        for m in model.modules():
            m.register_forward_hook(lambda mod, i, o: calls.update([type(mod).__name__]))
        y = model(torch.randn(2, 3, 224, 224))
        params = {p.untyped_storage().data_ptr() for _, p in model.named_parameters(remove_duplicate=False)}
        bufs = {b.untyped_storage().data_ptr() for _, b in model.named_buffers(remove_duplicate=False)}
        print("fixed" if fixed else "shared", tuple(y.shape), dict(BatchNorm2d=calls["BatchNorm2d"], Conv2d=calls["Conv2d"], Linear=calls["Linear"]),
              "params", len(params), len(list(model.named_parameters(remove_duplicate=False))),
              "buffers", len(bufs), len(list(model.named_buffers(remove_duplicate=False))))
