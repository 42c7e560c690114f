"""The exporter's cost against the model's own forward pass (issue: "export without computing").

    bench/export-speed.sh [RUNS]

1. The seed model (DenseNet-121 trunk, five heads) at the seed user's batch of 16: one real forward pass
   (training mode, autograd on: what the user's training step runs) against export (fake tensors) plus
   `graphcheck check` on the trace. Interleaved, RUNS times each, in one process; medians and the ratio.
2. The batch size: at batch 2 and 64, one plain forward pass, the export on fake tensors and the export on
   real tensors, each in a fresh process (peak memory is the process's VmHWM, torch included), RUNS
   processes each; medians, and batch 64 over batch 2.
3. A 7B-parameter decoder (Llama-2-7B's configuration) built on the meta device: both export modes, each in
   a fresh process.
4. Writes through views of large tensors: Longformer (two small layers, its 512-token attention window)
   fills its sliding-window scores in place through overlapping strided views. One real forward pass
   against the default export (fake tensors fail on a value read there, so it runs real), interleaved.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(REPO, "integrations", "pytorch"), os.path.join(REPO, "samples")]

import torch  # noqa: E402

from graphcheck_torch.exporter import export  # noqa: E402

BINARY = os.path.join(REPO, ".build", "release", "graphcheck")
TRACE = os.path.join("/tmp", f"graphcheck-export-speed-{os.getpid()}.json")


def _seed(batch):
    from densenet121_multihead import DenseNet121MultiHead

    torch.manual_seed(0)
    return DenseNet121MultiHead(), torch.randn(batch, 3, 224, 224)


def _llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=32, vocab_size=32000)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    return model, torch.randint(0, 32000, (1, 128))


def child(kind, batch, what):
    """One forward pass or export in this process: its seconds and the process's peak resident memory."""
    model, inputs = _llama() if kind == "llama" else _seed(batch)
    start = time.perf_counter()
    if what == "forward":
        model.train()
        model(inputs)
    else:
        export(model, inputs, TRACE, train=kind != "llama", tensors=what)
        os.remove(TRACE)
    seconds = time.perf_counter() - start
    parameters = sum(p.numel() for p in model.parameters())
    print(json.dumps({"seconds": seconds, "peak_mib": _peak_mib(), "parameters": parameters}))


def _peak_mib():
    """This process's peak resident memory: VmHWM (getrusage's maximum would carry the parent's over exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(kind, batch, what):
    output = subprocess.run([sys.executable, __file__, "--child", kind, str(batch), what], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def _interleaved(model, x, runs, then):
    """Medians of one real forward pass (training mode) and of `then()`, interleaved, `runs` times each."""
    forward, other = [], []
    for _ in range(runs):
        model.train()
        start = time.perf_counter()
        model(x)
        forward.append(time.perf_counter() - start)
        start = time.perf_counter()
        then()
        other.append(time.perf_counter() - start)
    os.remove(TRACE)
    return statistics.median(forward), statistics.median(other)


def seed_against_forward(runs):
    model, x = _seed(16)

    def export_and_check():
        export(model, x, TRACE)
        subprocess.run([BINARY, "check", TRACE], capture_output=True, check=False)

    f, e = _interleaved(model, x, runs, export_and_check)
    print(f"seed, batch 16: one real forward pass (train, autograd)   {f:8.2f} s")
    print(f"seed, batch 16: export (fake tensors) + graphcheck check  {e:8.2f} s   forward / export = {f / e:.1f}x")


def batch_size(runs):
    results = {}
    for batch in (2, 64):
        for what in ("forward", "fake", "real"):
            samples = [_in_child("seed", batch, what) for _ in range(runs)]
            results[batch, what] = (statistics.median(s["seconds"] for s in samples), statistics.median(s["peak_mib"] for s in samples))
            label = {"forward": "one forward pass (train)", "fake": "export, fake tensors", "real": "export, real tensors"}[what]
            print(f"seed, batch {batch:2d}, {label:26s} {results[batch, what][0]:7.2f} s, peak {results[batch, what][1]:6.0f} MiB (process)")
    for what in ("forward", "fake", "real"):
        print(f"batch 64 / batch 2, {what:7s}: time {results[64, what][0] / results[2, what][0]:.2f}x, "
              f"peak memory {results[64, what][1] / results[2, what][1]:.2f}x")


def _longformer():
    from transformers import LongformerConfig, LongformerForMaskedLM

    config = LongformerConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                              vocab_size=99, max_position_embeddings=600, attention_window=[512, 512])
    torch.manual_seed(0)
    return LongformerForMaskedLM(config), torch.randint(3, 50, (2, 12))


def writes_through_views(runs):
    import warnings

    model, x = _longformer()

    def quiet_export():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(model, x, TRACE)

    f, e = _interleaved(model, x, runs, quiet_export)
    print(f"Longformer (512-token window), 2x12 tokens: one real forward pass {f:6.2f} s, export {e:6.2f} s ({e / f:.0f}x)")


def seven_billion():
    for what in ("fake", "real"):
        sample = _in_child("llama", 1, what)
        print(f"Llama-2-7B configuration on the meta device ({sample['parameters'] / 1e9:.2f}B parameters), 1x128 tokens, "
              f"export on {what} tensors: {sample['seconds']:.2f} s, peak {sample['peak_mib']:.0f} MiB (process)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {runs} runs")
        seed_against_forward(runs)
        writes_through_views(runs)
        batch_size(runs)
        seven_billion()
