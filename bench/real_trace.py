"""A real trace for the scale benchmark: `graphcheck_torch` exports a deep decoder (transformers' Llama, a
small width and LAYERS layers) built on the meta device, with two heads on its last hidden state, so the
check has branches to find. Nothing is allocated: parameters are meta tensors, the export runs on fake
tensors.

    python bench/real_trace.py LAYERS OUT.json     prints the number of ops recorded
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integrations", "pytorch"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from graphcheck_torch.exporter import export  # noqa: E402


class DeepTwoHeads(nn.Module):
    def __init__(self, layers):
        from transformers import LlamaConfig, LlamaModel

        super().__init__()
        config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=layers, num_attention_heads=4,
                             num_key_value_heads=4, vocab_size=256, max_position_embeddings=64)
        self.trunk = LlamaModel(config)
        self.lm = nn.Linear(64, 256)
        self.score = nn.Linear(64, 3)

    def forward(self, ids):
        hidden = self.trunk(ids).last_hidden_state
        return self.lm(hidden), self.score(hidden[:, -1])


def main():
    layers, out = int(sys.argv[1]), sys.argv[2]
    with torch.device("meta"):
        model = DeepTwoHeads(layers)
    export(model, (torch.randint(0, 256, (1, 16)),), out)
    import json

    with open(out) as f:
        print(len(json.load(f)["nodes"]))


if __name__ == "__main__":
    main()
