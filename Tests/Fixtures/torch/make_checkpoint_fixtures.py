"""Writes the PyTorch files graphcheck recognises but cannot check (Tests/Fixtures/torch/checkpoints): a
torch.save checkpoint (zip and legacy pickle), a TorchScript archive, a torch.export archive and a
safetensors file, each of a 2x2 Linear. Run with the test venv's python from the repository root."""
import os

import torch

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints")
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = torch.nn.Linear(2, 2)
torch.save(model.state_dict(), os.path.join(out, "state_dict.pt"))
torch.save(model.state_dict(), os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
torch.jit.save(torch.jit.script(model), os.path.join(out, "scripted.pt"))
torch.export.save(torch.export.export(model, (torch.randn(1, 2),)), os.path.join(out, "exported.pt2"))
from safetensors.torch import save_file  # noqa: E402  (installed with transformers)
save_file(model.state_dict(), os.path.join(out, "weights.safetensors"))
