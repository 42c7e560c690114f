import functools
import json
import os
import subprocess
import sys

import pytest
import torch

from corpus_bugs import DetachedInPlace, DomainAdversarial, KeepsItsParameters, NoGradContext, OtherHalfWritten, OtherRowWritten, SlicedHeadsSharingALayer
from densenet121_multihead import DenseNet121MultiHead
from graphcheck_torch import assert_independent, export, graphcheck_report, trace
from models import DictHeads, ListHeads


def seed_trace(fixed):
    torch.manual_seed(0)
    return trace(DenseNet121MultiHead(fixed=fixed), torch.randn(2, 3, 224, 224))


@pytest.fixture(scope="module")
def shared_trace():
    return seed_trace(False)


@pytest.fixture(scope="module")
def fixed_trace():
    return seed_trace(True)


def count(trace_dict, op):
    return sum(1 for n in trace_dict["nodes"] if n["op"] == op)


@pytest.mark.parametrize("fixed", [False, True])
def test_storages_match_named_parameters_and_buffers(fixed, shared_trace, fixed_trace):
    t = fixed_trace if fixed else shared_trace
    model = DenseNet121MultiHead(fixed=fixed)
    for kind, named in (("parameter", model.named_parameters), ("buffer", model.named_buffers)):
        storages = [s for s in t["storages"] if s["kind"] == kind]
        assert sum(len(s["names"]) for s in storages) == len(list(named(remove_duplicate=False)))
        assert len(storages) == len(list(named()))
    assert [len([s for s in t["storages"] if s["kind"] == k]) for k in ("parameter", "buffer")] == ([764, 759] if fixed else [372, 363])


def test_dispatch_level_ops_match_pytorch_counts(shared_trace):
    assert count(shared_trace, "batch_norm") == 253
    assert count(shared_trace, "conv2d") == 248
    assert count(shared_trace, "linear") == 5


def test_every_branch_has_its_own_call_site_paths(shared_trace):
    for i in range(1, 6):
        ops = [n for n in shared_trace["nodes"] if n["module"].startswith(f"branch{i}.")]
        assert sum(1 for n in ops if n["op"] == "batch_norm") == 33
        assert sum(1 for n in ops if n["op"] == "conv2d") == 32
    norm1 = [n["module"] for n in shared_trace["nodes"] if n["op"] == "batch_norm" and n["module"].endswith("denseblock4.denselayer1.norm1")]
    assert norm1 == [f"branch{i}.denseblock4.denselayer1.norm1" for i in range(1, 6)]


def test_inplace_ops_and_running_statistics_are_recorded(shared_trace):
    storages = {s["id"]: s for s in shared_trace["storages"]}
    bn = next(n for n in shared_trace["nodes"] if n["op"] == "batch_norm" and n["module"] == "trunk.norm0")
    assert sorted(storages[s]["names"][0] for s in bn["writes"]) == ["trunk.norm0.running_mean", "trunk.norm0.running_var"]
    counter = next(n for n in shared_trace["nodes"] if n["op"] == "add" and n["module"] == "trunk.norm0")
    assert counter["inplace"] and [storages[s]["names"][0] for s in counter["writes"]] == ["trunk.norm0.num_batches_tracked"]
    relu = next(n for n in shared_trace["nodes"] if n["module"] == "trunk.relu0")
    assert relu["op"] == "relu" and relu["inplace"]
    assert all("source" in n for n in shared_trace["nodes"])


def test_module_table_records_object_identity(shared_trace):
    instance = {m["path"]: m["instance"] for m in shared_trace["modules"]}
    assert instance["branch1.denseblock4"] == instance["branch5.denseblock4"]
    assert instance["branch1"] != instance["branch2"]


def test_graphcheck_verdicts_on_exported_seed(graphcheck_binary, tmp_path):
    for fixed, expected in ((False, False), (True, True)):
        torch.manual_seed(0)
        report = graphcheck_report(DenseNet121MultiHead(fixed=fixed), torch.randn(2, 3, 224, 224))
        assert report["independent"] is expected
        assert report["branches"] == [f"branch{i}" for i in range(1, 6)]
        if not fixed:
            shared = [f for f in report["findings"] if f["rule"] == "shared-storage"]
            assert len(shared) == 1 and shared[0]["branches"] == report["branches"]
            assert any("running_mean, running_var, num_batches_tracked" in note for note in shared[0]["notes"])
            assert not [f for f in report["findings"] if f["rule"] == "equal-copies"], "shared storage is not a copy"
        else:
            # The seed user's last question, answered: the deep copies start from equal weights, and train apart.
            copies = [f for f in report["findings"] if f["rule"] == "equal-copies"]
            assert len(copies) == 1 and copies[0]["branches"] == report["branches"]
            assert copies[0]["evidence"]["parameters"] == 32  # denseblock4's convolutions; BatchNorm's fills are constant
            assert "diverge as soon as their gradients differ" in copies[0]["notes"][0]


class _Attention(torch.nn.Module):
    """Hand-written attention whose query, key, value and output projections come from `[linear] * 4` (the
    forum bug: one Linear object in every slot) or from a Linear each."""

    def __init__(self, one_object):
        super().__init__()
        self.projections = torch.nn.ModuleList([torch.nn.Linear(8, 8)] * 4 if one_object else [torch.nn.Linear(8, 8) for _ in range(4)])

    def forward(self, x):
        q, k, v = (p(x) for p in self.projections[:3])
        return self.projections[3](torch.softmax(q @ k.transpose(1, 2), -1) @ v)


def test_one_object_in_every_slot_of_a_list_is_reported_as_reuse(graphcheck_binary):
    """Each slot is called once under its own path: the module table shows the one object behind them."""
    for one_object in (True, False):
        torch.manual_seed(0)
        report = graphcheck_report(_Attention(one_object), torch.randn(2, 5, 8))
        assert report["independent"] is None  # one head: nothing to compare
        reuse = [f["evidence"]["slots"] for f in report["findings"] if f["rule"] == "module-reuse"]
        assert reuse == ([[f"projections.{i}" for i in range(4)]] if one_object else [])


class _CrossAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x, memory):
        return self.attention(x, memory, memory, need_weights=False)[0]


class _Siamese(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(8, 8)

    def forward(self, a, b):
        return self.encoder(a) - self.encoder(b)


def test_a_weight_split_into_projections_is_no_reuse(graphcheck_binary):
    """Cross-attention splits `in_proj_weight` into the query, key and value projections, each read once:
    no module is called three times. A Linear applied to both inputs is."""
    torch.manual_seed(0)
    report = graphcheck_report(_CrossAttention(), (torch.randn(2, 3, 8), torch.randn(2, 5, 8)))
    assert [f["rule"] for f in report["findings"]] == []
    report = graphcheck_report(_Siamese(), (torch.randn(2, 8), torch.randn(2, 8)))
    assert [f["rule"] for f in report["findings"]] == ["module-reuse"]


def test_digests_tell_copies_from_fresh_and_constant_tensors():
    import copy

    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    model = torch.nn.ModuleDict({"a": head, "b": copy.deepcopy(head), "c": torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))})
    model.forward = lambda x: [m(x) for m in model.values()]
    digest = {s["names"][0]: s.get("digest") for s in trace(model, torch.randn(2, 4))["storages"]}
    assert digest["a.0.weight"] == digest["b.0.weight"] and digest["a.0.bias"] == digest["b.0.bias"]
    assert digest["c.0.weight"] != digest["a.0.weight"]
    assert digest["a.1.weight"] is None and digest["a.1.running_var"] is None, "constant fills say nothing about copying"
    with torch.device("meta"):
        meta = torch.nn.Linear(4, 4)
    assert "digest" not in trace(meta, torch.randn(2, 4))["storages"][0], "a meta tensor has no values"


def _failure(model, x, **kwargs):
    """The message `assert_independent` fails with."""
    with pytest.raises(AssertionError) as failure:
        assert_independent(model, x, **kwargs)
    return str(failure.value)


def test_assert_independent_lists_the_findings(graphcheck_binary):
    message = _failure(ListHeads(shared=True), torch.randn(2, 3, 8, 8))
    assert "heads.0, heads.1, heads.2 are NOT independent" in message
    assert "shared-storage" in message and "copy.deepcopy" in message
    assert_independent(ListHeads(shared=False), torch.randn(2, 3, 8, 8))


def test_assert_independent_says_which_branches_would_decide(graphcheck_binary):
    from corpus_bugs import MaskedMixture

    message = _failure(MaskedMixture(one_expert=True), torch.randn(4, 8))
    assert "cannot decide: parts inside a branch share storage" in message
    assert "--branch experts.0 --branch experts.1 --branch experts.2 --branch experts.3" in message
    with pytest.raises(AssertionError, match="NOT independent"):
        assert_independent(MaskedMixture(one_expert=True), torch.randn(4, 8), branches=[f"experts.{i}" for i in range(4)])
    assert_independent(MaskedMixture(one_expert=False), torch.randn(4, 8))


def test_assert_independent_says_which_towers_to_check(graphcheck_binary):
    """A tower's returned result read by another tower's head (or a fusion): no verdict, and the branches that
    check each tower with its own head, which then find the leak."""
    from corpus_bugs import QueryDocTowers

    inputs = (torch.randn(2, 8), torch.randn(2, 8))
    message = _failure(QueryDocTowers(leak=True), inputs)
    assert "cannot decide: doc_head computes with the returned result of query_encoder, query_head" in message
    towers = ["query_encoder,query_head", "doc_encoder,doc_head"]
    assert f"pass branches={towers!r}" in message
    assert "NOT independent" in _failure(QueryDocTowers(leak=True), inputs, branches=towers)
    assert_independent(QueryDocTowers(leak=False), inputs)


def test_assert_independent_fails_slots_that_are_the_head_that_ran(graphcheck_binary):
    """`forward(x, task)` over `ModuleList([head] * 3)`: one head ran, and the slots that did not are the same
    object, so they share every weight whichever runs: the slots are the branches, NOT independent."""
    from corpus_bugs import HeadPerTask

    message = _failure(HeadPerTask(same_object=True), torch.randn(4, 8))
    assert "branches heads.0, heads.1, heads.2 are NOT independent" in message
    assert "shared-storage" in message and "copy.deepcopy" in message
    heads = ["heads.0", "heads.1", "heads.2"]
    assert "NOT independent" in _failure(HeadPerTask(same_object=True), torch.randn(4, 8), branches=heads)
    assert "heads.0, heads.2 did not run for these inputs" in _failure(HeadPerTask(same_object=False), torch.randn(4, 8))


def test_tied_weights_in_a_module_dict(graphcheck_binary):
    report = graphcheck_report(DictHeads(tied=True), torch.randn(4, 16))
    assert report["branches"] == ["heads.age", "heads.sex"]
    shared = next(f for f in report["findings"] if f["rule"] == "shared-storage")
    assert shared["storages"] == 1
    assert graphcheck_report(DictHeads(tied=False), torch.randn(4, 16))["independent"] is True


def test_allow_shared_declares_intended_sharing(graphcheck_binary):
    with pytest.raises(AssertionError):
        assert_independent(DictHeads(tied=True), torch.randn(4, 16))
    report = assert_independent(DictHeads(tied=True), torch.randn(4, 16), allow_shared=["heads.age.weight"])
    assert [f["severity"] for f in report["findings"]] == ["info", "info"]


def test_given_branches_are_passed_through(graphcheck_binary):
    report = graphcheck_report(ListHeads(shared=True), torch.randn(2, 3, 8, 8), branches=["heads.0", "heads.2"])
    assert report["branches"] == ["heads.0", "heads.2"] and report["independent"] is False


def test_command_line_writes_a_trace(tmp_path, graphcheck_binary):
    out = tmp_path / "heads.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-m", "graphcheck_torch", "models:ListHeads", "--input", "2x3x8x8", "-o", str(out)],
                            capture_output=True, text=True, env=env, cwd=os.path.dirname(__file__))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["format"] == "graphcheck.trace" and data["mode"] == "train"
    check = subprocess.run([graphcheck_binary, str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    bad = subprocess.run([sys.executable, "-m", "graphcheck_torch", "models:Nope", "--input", "2x3", "-o", str(out)],
                         capture_output=True, text=True, env=env, cwd=os.path.dirname(__file__))
    assert bad.returncode == 2 and "cannot load models:Nope" in bad.stderr


def test_the_report_points_at_the_lines_that_assigned_the_shared_heads(tmp_path, graphcheck_binary):
    """The command line records the model's construction, so shared-storage names the `__init__` lines that
    made the heads one (`self.branch2 = original_model.features[-2:]`), in the text and in SARIF."""
    import densenet121_multihead

    with open(densenet121_multihead.__file__) as f:
        lines = [n for n, text in enumerate(f, 1) if "self.branch" in text and "take(original_model.features[-2:])" in text]
    assert len(lines) == 5
    out = tmp_path / "seed.json"
    result = _cli(tmp_path, "densenet121_multihead:DenseNet121MultiHead", "--input", "2x3x64x64", output=str(out))
    assert result.returncode == 0, result.stderr
    text = subprocess.run([graphcheck_binary, str(out)], capture_output=True, text=True).stdout
    assert f"densenet121_multihead.py:{', '.join(map(str, lines))}" in text
    sarif = json.loads(subprocess.run([graphcheck_binary, str(out), "--format", "sarif"], capture_output=True, text=True).stdout)
    shared = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "shared-storage")
    located = [shared["locations"][0]["physicalLocation"]] + [r["physicalLocation"] for r in shared["relatedLocations"]]
    assert [p["region"]["startLine"] for p in located] == lines
    assert all(p["artifactLocation"]["uri"].endswith("densenet121_multihead.py") for p in located)


def test_construction_is_recorded_only_inside_the_block():
    import models
    from graphcheck_torch import recording_construction

    with open(models.__file__) as f:
        text = f.read().split("class DictHeads")[0].splitlines()
    expected = {name: f"{n}" for n, line in enumerate(text, 1) for name in ("backbone", "heads") if f"self.{name} =" in line}
    setattr_ = torch.nn.Module.__setattr__
    with recording_construction():
        with recording_construction():  # nested: still recording, restored once
            model = ListHeads()
    assert torch.nn.Module.__setattr__ is setattr_
    recorded = {m["path"]: m.get("source") for m in trace(model, torch.randn(2, 3, 8, 8))["modules"]}
    assert recorded[""] is None
    for name, line in expected.items():
        assert recorded[name].endswith(f"models.py:{line}"), (name, recorded[name])
    outside = {m["path"]: m.get("source") for m in trace(ListHeads(), torch.randn(2, 3, 8, 8))["modules"]}
    assert not any(outside.values())


def _cli(tmp_path, *arguments, output=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = output or str(tmp_path / "m.json")
    return subprocess.run([sys.executable, "-m", "graphcheck_torch", *arguments, "-o", out],
                          capture_output=True, text=True, env=env, cwd=os.path.dirname(__file__), timeout=600)


@pytest.mark.parametrize("arguments, says", [
    (["models:DictHeads", "--input", "2x16", "--input", "2x16"], "DictHeads.forward(x) does not take these inputs"),
    (["models:TokenHeads", "--input", "2x5:int64"], "give one --input per argument (input_ids, attention_mask)"),
    (["models:ListHeads", "--input", "1x3x1x1"], "a batch of 1 cannot be normalised in training mode: give a batch of at least 2, or --eval"),
    (["models:ListHeads", "--input", "2x4x8x8"], "ListHeads's forward failed on 2x4x8x8 (training mode): RuntimeError"),
    (["models:ListHeads", "--input", "2x3x8x8:float99"], "unknown dtype 'float99'"),
    (["models:ListHeads", "--input", "2x3x8x8", "--input", "ids=2x3"], "all by position or all by NAME=, not both"),
    (["models:ListHeads", "--input", "2xthree"], "is not [NAME=]SHAPE[:DTYPE]"),
])
def test_command_line_errors_say_what_to_change(tmp_path, arguments, says):
    result = _cli(tmp_path, *arguments)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "m.json").exists()


def test_command_line_refuses_a_missing_output_folder_before_building_the_model(tmp_path):
    result = _cli(tmp_path, "models:ListHeads", "--input", "2x3x8x8", output=str(tmp_path / "nowhere" / "m.json"))
    assert result.returncode == 2 and f"the folder {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_export_refuses_a_missing_output_folder_before_tracing(tmp_path, monkeypatch):
    traced = []
    monkeypatch.setattr("graphcheck_torch.exporter.trace", lambda *a, **k: traced.append(1))
    target = tmp_path / "nowhere" / "m.json"
    with pytest.raises(FileNotFoundError, match=f"cannot write {target}: the folder .*nowhere does not exist"):
        export(torch.nn.Linear(2, 2), (torch.randn(1, 2),), str(target))
    assert traced == [] and not (tmp_path / "nowhere").exists()


def test_export_leaves_no_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    monkeypatch.setattr("graphcheck_torch.exporter.os.replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        export(torch.nn.Linear(2, 2), (torch.randn(1, 2),), str(tmp_path / "m.json"))
    assert list(tmp_path.iterdir()) == []


def test_command_line_takes_keyword_inputs_with_their_own_dtypes(tmp_path, graphcheck_binary):
    result = _cli(tmp_path, "models:TokenHeads", "--input", "input_ids=2x5:int64", "--input", "attention_mask=2x5")
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "m.json").read_text())
    first = {v["id"]: v for v in data["values"]}
    assert [first[i]["dtype"] for i in data["inputs"]] == ["int64", "float32"]
    check = subprocess.run([graphcheck_binary, str(tmp_path / "m.json")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


class _ImagesAndTargets(torch.nn.Module):
    """Takes a list of images and a list of target dicts, as torchvision's detection models do."""

    def __init__(self):
        super().__init__()
        self.head1 = torch.nn.Linear(4, 2)
        self.head2 = torch.nn.Linear(4, 2)

    def forward(self, images, targets):
        x = torch.stack(images).mean((2, 3))
        scale = torch.stack([t["scale"] for t in targets])
        return self.head1(x) * scale, self.head2(x)


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_tensors_inside_lists_and_dicts_are_inputs(tensors):
    images = [torch.randn(4, 8, 8), torch.randn(4, 8, 8)]
    targets = [{"scale": torch.ones(1)}, {"scale": torch.ones(1)}]
    data = trace(_ImagesAndTargets(), (images, targets), tensors=tensors)
    shapes = {v["id"]: v["shape"] for v in data["values"]}
    assert [shapes[i] for i in data["inputs"]] == [[4, 8, 8], [4, 8, 8], [1], [1]]
    stack = next(n for n in data["nodes"] if n["op"] == "stack")
    assert stack["inputs"] == data["inputs"][:2]  # the images the model read are the inputs recorded


def test_export_writes_atomically(tmp_path):
    path = tmp_path / "m.json"
    export(ListHeads(), torch.randn(2, 3, 8, 8), str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    json.loads(path.read_text())


class InplaceHeads(torch.nn.Module):
    """A trunk and three heads; head 1 starts with ReLU(inplace=True), overwriting the trunk output that
    heads 2 and 3 read after it."""

    def __init__(self, inplace):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 4)
        self.head1 = torch.nn.Sequential(torch.nn.ReLU(inplace=inplace), torch.nn.Linear(4, 2))
        self.head2 = torch.nn.Linear(4, 2)
        self.head3 = torch.nn.Linear(4, 2)

    def forward(self, x):
        t = self.trunk(x)
        return torch.cat([self.head1(t), self.head2(t), self.head3(t)], dim=1)


def test_inplace_hazard_on_an_exported_trace(graphcheck_binary):
    report = graphcheck_report(InplaceHeads(inplace=True), torch.randn(2, 8))
    assert report["branches"] == ["head1", "head2", "head3"] and report["independent"] is False
    hazard = [f for f in report["findings"] if f["rule"] == "inplace-hazard"]
    assert len(hazard) == 1 and hazard[0]["message"].startswith("relu_ in head1.0") and "head2, head3" in hazard[0]["message"]
    assert graphcheck_report(InplaceHeads(inplace=False), torch.randn(2, 8))["independent"] is True


class _StateWrittenInPlace(torch.nn.Module):
    """No heads; a state tensor overwritten in place after a sigmoid kept it for backward (as RWKV's state in
    eval mode): backward raises whatever the heads are."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 4)

    def forward(self, x):
        state = torch.sigmoid(self.layer(x))
        out = state * 2
        state.mul_(0.5)
        return out, state


def test_an_error_without_heads_says_it_holds_whatever_the_heads_are(graphcheck_binary):
    model, x = _StateWrittenInPlace(), torch.randn(2, 4)
    with pytest.raises(RuntimeError, match="inplace"):
        sum(o.sum() for o in model(x)).backward()
    message = _failure(model, x)
    assert "no branches to compare, but errors that no choice of heads changes" in message and "inplace-hazard" in message


class _ArgumentAndView(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Linear(4, 8)
        self.head1 = torch.nn.Linear(8, 2)
        self.head2 = torch.nn.Linear(8, 2)

    def forward(self, x):
        t = self.trunk(x)
        a = self.head1(torch.nn.functional.relu_(t))
        t[:, :2] = 0
        c = t.view(-1)[:4]  # a view whose elements the next write shares
        g = torch.cat([t[:, 4:5], t[:, 6:7]], 1)  # views on the same bytes, none of the written elements
        t[:, 0].mul_(2)
        return a, self.head2(t), c, g


def test_inplace_argument_and_writes_through_views_are_recorded():
    recorded = trace(_ArgumentAndView(), torch.randn(3, 4))
    nodes = recorded["nodes"]
    relu = next(n for n in nodes if n["op"] == "relu")
    assert relu["attrs"]["argument_of"] == "head1"
    through = [n for n in nodes if "through_view" in n.get("attrs", {})]
    # `t[:, :2] = 0` gives t a new version; `t[:, 0].mul_(2)` gives new versions to t, the view `t[:, :2]`,
    # `t.view(-1)` and `c` (each holds t[0, 0]), not to the slices t[:, 4:5] and t[:, 6:7], whose bytes
    # interleave with column 0 but whose elements differ.
    assert [n["op"] for n in through] == ["fill", "mul", "mul", "mul", "mul"]
    values = {v["id"]: v for v in recorded["values"]}
    assert sorted(values[n["inputs"][0]]["shape"] for n in through[1:]) == [[3, 2], [3, 8], [4], [24]]
    for n in through:
        assert n["inplace"] and n["inputs"][1] == n["attrs"]["through_view"]


class _WritesItsInput(torch.nn.Module):
    """BatchNorm and dropout, a parameter written in the forward, and an in-place op on the caller's input."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5))
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        x.mul_(2)
        with torch.no_grad():
            self.scale.add_(1)
        return self.body(x) * self.scale


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_exporting_never_changes_the_users_model_or_random_stream(tmp_path, tensors):
    """A training-mode export runs BatchNorm and dropout (for real in "real" mode); the parameters and buffers
    the forward wrote, the input it wrote, the mode, hooks, `requires_grad` and the global random generator
    are as they were before."""
    torch.manual_seed(0)
    model = _WritesItsInput()
    model.eval()
    model.body[0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 8, 8)
    x_before = x.clone()
    hooks = (len(torch.nn.modules.module._global_forward_hooks), len(torch.nn.modules.module._global_forward_pre_hooks))
    users_hook = model.body.register_forward_hook(lambda module, args, out: None)
    torch.manual_seed(1)
    expected_next = torch.rand(3)
    torch.manual_seed(1)
    export(model, x, str(tmp_path / "m.json"), train=True, tensors=tensors)
    assert torch.equal(torch.rand(3), expected_next), "the export drew from the user's random stream"
    assert not model.training
    after = model.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == [], "the export changed the model's state"
    assert torch.equal(x, x_before), "the export changed the input"
    assert [p.requires_grad for p in model.parameters()] == flags
    assert hooks == (len(torch.nn.modules.module._global_forward_hooks), len(torch.nn.modules.module._global_forward_pre_hooks))
    assert list(model.body._forward_hooks) == [users_hook.id]
    assert all(not m._forward_hooks for m in model.modules() if m is not model.body)
    recorded = json.loads((tmp_path / "m.json").read_text())
    assert any(n["op"] == "mul" and n.get("inplace") for n in recorded["nodes"]), "the in-place op on the input was not recorded"


class _KeepsWhatItComputed(torch.nn.Module):
    """A forward that keeps Python state: a position table from an lru-cached method (RT-DETR, D-FINE),
    anchors made on the first call, hooked features in a dict, a buffer replaced (`self.inv_freq = ...`)."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
        self.register_buffer("scale", torch.ones(4))
        self.anchors = None
        self.features = {}

    @functools.lru_cache(maxsize=4)
    def table(self, n):
        return torch.arange(n, dtype=torch.float32)

    def forward(self, x):
        if self.anchors is None:
            self.anchors = torch.linspace(0, 1, 4)
        self.scale = self.scale * 2
        self.features["body"] = self.body(x)
        return self.features["body"] * self.scale + self.table(4) + self.anchors


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_what_the_forward_keeps_is_put_back(tensors):
    """After an export the model holds what it held before, not the (fake) tensors its forward kept, and
    computes on real tensors as before; a submodule left in eval mode by the user stays in it."""
    model = _KeepsWhatItComputed()
    model.body[1].eval()
    scale, x = model.scale, torch.randn(3, 4)
    trace(model, x, tensors=tensors)
    assert model.anchors is None and model.features == {} and model.scale is scale
    assert model.training and not model.body[1].training
    assert model.table.cache_info().currsize == 0 or tensors == "real"
    out = model(x)
    assert type(out) is torch.Tensor and type(model.table(4)) is torch.Tensor


class _ValueDependent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > 0:  # reads a value: fake tensors have none
            x = -x
        return self.head(x)



def test_a_lazy_model_is_refused_with_what_to_do_and_left_as_it_was():
    model = torch.nn.Sequential(torch.nn.LazyLinear(4), torch.nn.ReLU(), torch.nn.LazyLinear(2))
    with pytest.raises(ValueError, match=r"parameters not made yet \(0.weight, 0.bias, 2.weight, …\).*run the model once"):
        trace(model, torch.randn(2, 3))
    assert torch.nn.parameter.is_lazy(model[0].weight)
    model(torch.randn(2, 3))
    assert len(trace(model, torch.randn(2, 3))["nodes"]) >= 3

def test_torchscript_model_is_refused_a_scripted_part_is_one_module():
    """Inside TorchScript no module call can be seen. A scripted model is refused (no op could be placed in a
    head); the ops of a scripted part holding modules stay in it, with a warning, rather than going to the first
    module holding the parameters they read: two heads inside it sharing a layer would otherwise both be placed
    in the first and pass. A scripted module holding no modules is one module anyway."""
    head = lambda: torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"the model is TorchScript .*export the Python module it was made from"):
        trace(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 4), head())), torch.randn(2, 3))
    heads = HeadsBlock(shared=True)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.jit.script(heads))
    with pytest.warns(UserWarning, match=r"1 is TorchScript: .*placed in the scripted module"):
        recorded = trace(model, torch.randn(2, 3))
    assert {n["module"] for n in recorded["nodes"]} == {"0", "1"}
    leaf = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.jit.script(torch.nn.Linear(4, 2)))
    assert [n["module"] for n in trace(leaf, torch.randn(2, 3))["nodes"] if n["op"] in ("linear", "addmm")] == ["0", "1"]


class HeadsBlock(torch.nn.Module):
    """Two heads in one module; `shared`: their first layer is one object."""

    def __init__(self, shared=False):
        super().__init__()
        self.head1 = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        self.head2 = torch.nn.Sequential(self.head1[0] if shared else torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))

    def forward(self, t):
        return self.head1(t), self.head2(t)


def test_a_model_that_reads_values_is_traced_on_real_tensors_with_a_warning():
    model, x = _ValueDependent(), torch.randn(3, 4)
    with pytest.raises(Exception, match="DataDependent|data-dependent|_local_scalar_dense"):
        trace(model, x, tensors="fake")
    with pytest.warns(UserWarning, match=r"cannot run on fake tensors \(.*test_exporter.py:\d+\); traced it on the real inputs"):
        recorded = trace(model, x)
    assert recorded == trace(model, x, tensors="real")
    with pytest.raises(ValueError, match="tensors must be one of"):
        trace(model, x, tensors="meta")


def test_the_fallback_warning_names_the_users_line(tmp_path):
    """Through `export` too, the warning points at the user's call, not at a line of the exporter."""
    with pytest.warns(UserWarning, match="cannot run on fake tensors") as caught:
        export(_ValueDependent(), torch.randn(3, 4), str(tmp_path / "t.json"))
    assert [os.path.basename(w.filename) for w in caught] == ["test_exporter.py"]


def test_the_default_export_keeps_no_activation_alive():
    """The batch size costs nothing: a 4096-image batch through a conv net is traced without its activations
    (about 3 GB if computed) being made."""
    import resource

    model = torch.nn.Sequential(*[torch.nn.Conv2d(16, 16, 3, padding=1) for _ in range(6)])
    x = torch.randn(4096, 16, 32, 32)  # 256 MiB: each activation as large
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    recorded = trace(model, x)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # MiB
    assert [v["shape"] for v in recorded["values"]][-1] == [4096, 16, 32, 32]
    assert grown < 256, f"peak memory grew by {grown:.0f} MiB while tracing"


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_nothing_the_export_touched_outlives_it(tensors):
    """After an export, the model and the tensors the trace made are freed with the last reference the user
    drops: a test suite checking many models in one process does not keep each one (resnet50 kept ~100 MB per
    export, its activations too in real mode). A sigmoid saves its own result, the case that made a cycle."""
    import gc
    import weakref

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.Sigmoid(), torch.nn.Linear(16, 4))
    x = torch.randn(4, 8)
    model_ref, weight_ref = weakref.ref(model), weakref.ref(model[0].weight)
    recorded = trace(model, x, tensors=tensors)
    assert any(n["op"] == "sigmoid" and n.get("saves") for n in recorded["nodes"]), "the saved result is still recorded"
    del model
    gc.collect()
    assert model_ref() is None and weight_ref() is None, "the export kept the model alive"


def test_a_missing_executable_is_reported_before_any_export(monkeypatch, tmp_path):
    import graphcheck_torch.testing as testing

    monkeypatch.setenv("GRAPHCHECK", str(tmp_path / "no-such-graphcheck"))
    monkeypatch.setattr(testing, "export", lambda *a, **k: pytest.fail("exported before finding the executable"))
    with pytest.raises(RuntimeError, match="not an executable file"):
        assert_independent(torch.nn.Linear(2, 2), torch.randn(1, 2))


def test_the_failure_keeps_the_notes_that_answer_the_users_questions(graphcheck_binary):
    torch.manual_seed(0)
    text = _failure(DenseNet121MultiHead(), torch.randn(2, 3, 64, 64))
    assert "note: shared storage makes these branches one set of weights forever" in text
    assert "note: these are the edges TensorBoard's graph view draws" in text


class _DeclaredTie(torch.nn.Module):
    """Two heads tied the way a Hugging Face model declares it (`_tied_weights_keys`), or tied undeclared."""

    def __init__(self, declared):
        super().__init__()
        self.trunk = torch.nn.Linear(4, 4)
        self.head1 = torch.nn.Linear(4, 2)
        self.head2 = torch.nn.Linear(4, 2)
        self.head2.weight = self.head1.weight
        if declared:
            self._tied_weights_keys = {"head2.weight": "head1.weight"}

    def forward(self, x):
        t = self.trunk(x)
        return self.head1(t), self.head2(t)


def test_ties_the_model_declares_are_intended_sharing(graphcheck_binary):
    report = assert_independent(_DeclaredTie(declared=True), torch.randn(2, 4))
    assert report["declared_ties"] == [{"tied": "head2.weight", "source": "head1.weight"}]
    with pytest.raises(AssertionError, match="shared-storage"):
        assert_independent(_DeclaredTie(declared=False), torch.randn(2, 4))


def test_ties_the_model_declares_are_recorded_in_the_trace(tmp_path, graphcheck_binary):
    """The command-line path (export, then `graphcheck check`) sees what the model declares as the pytest helper
    does: the trace marks the tied storage `declared`, and the check takes it as intended."""
    for declared, expected in ((True, 0), (False, 1)):
        path = tmp_path / f"tie-{declared}.json"
        export(_DeclaredTie(declared=declared), torch.randn(2, 4), str(path))
        tied = [s for s in json.loads(path.read_text())["storages"] if "head2.weight" in s["names"]]
        assert tied[0].get("declared", False) is declared
        check = subprocess.run([graphcheck_binary, "check", str(path)], capture_output=True, text=True)
        assert check.returncode == expected, check.stdout
    assert "by the model itself" in subprocess.run([graphcheck_binary, "check", str(tmp_path / "tie-True.json")], capture_output=True, text=True).stdout


def test_a_transformers_models_declared_tie_is_found():
    from graphcheck_torch.testing import declared_ties
    from transformers import GPT2Config, GPT2DoubleHeadsModel

    model = GPT2DoubleHeadsModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=32, bos_token_id=0, eos_token_id=0))
    assert declared_ties(model) == [("lm_head.weight", "transformer.wte.weight")]
    model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())  # untied: no longer declared sharing
    assert declared_ties(model) == []


class _PoolAtPredictedBoxes(torch.nn.Module):
    """A box head and a head pooling the features at the predicted boxes (Mask R-CNN's shape, in small)."""

    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.box_head = torch.nn.Linear(4, 4)
        self.mask_head = torch.nn.Conv2d(4, 1, 1)

    def forward(self, x):
        t = self.trunk(x)
        boxes = torch.sigmoid(self.box_head(t.mean((2, 3)))) * 8
        rois = torch.cat([torch.arange(len(boxes), dtype=boxes.dtype)[:, None], boxes], 1)
        import torchvision
        return boxes, self.mask_head(torchvision.ops.roi_align(t, rois, 2))


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_inputs_a_custom_ops_backward_ignores_are_recorded(tensors):
    """RoIAlign's backward gives the boxes no gradient: the trace says so (autograd is asked, once per op)
    and graphcheck then keeps the two heads apart; the features it pools from do take a gradient."""
    recorded = trace(_PoolAtPredictedBoxes(), (torch.randn(2, 3, 8, 8),), tensors=tensors)
    pooling = [n for n in recorded["nodes"] if n["op"] == "roi_align"]
    assert [n["attrs"].get("no_grad_inputs") for n in pooling] == [[1]]
    assert not any("no_grad_inputs" in n.get("attrs", {}) for n in recorded["nodes"] if n["op"] != "roi_align")


def test_heads_pooling_at_another_heads_boxes_are_independent(graphcheck_binary):
    report = graphcheck_report(_PoolAtPredictedBoxes(), torch.randn(2, 3, 8, 8))
    assert report["branches"] == ["box_head", "mask_head"] and report["independent"] is True, report["findings"]


def test_a_compiled_model_is_traced_as_the_model_it_wraps(graphcheck_binary, recwarn):
    compiled = torch.compile(DictHeads(tied=True))
    names = {name for s in trace(compiled, torch.randn(4, 16))["storages"] for name in s["names"]}
    assert "heads.age.weight" in names and not any(name.startswith("_orig_mod") for name in names)
    assert not [w for w in recwarn if "torch.compile" in str(w.message)]
    report = graphcheck_report(compiled, torch.randn(4, 16))
    assert report["model"] == "DictHeads" and report["branches"] == ["heads.age", "heads.sex"] and report["independent"] is False


class _ListedHeads(torch.nn.Module):
    """Heads in a plain list (not registered), one with a BatchNorm; `one_object`: `[head] * 2`."""

    def __init__(self, one_object=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        head = torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.BatchNorm1d(4))
        self.heads = [head] * 2 if one_object else [head, torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.BatchNorm1d(4))]

    def forward(self, x):
        t = self.trunk(x)
        return [head(t) for head in self.heads]


def test_heads_in_a_plain_list_are_traced_and_reported(graphcheck_binary):
    model = _ListedHeads()
    before = [t.clone() for head in model.heads for t in head.state_dict().values()]
    recorded = trace(model, torch.randn(4, 8))
    after = [t for head in model.heads for t in head.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(before, after)), "the listed heads' BatchNorm statistics are put back"
    listed = [m["path"] for m in recorded["modules"] if m.get("registered") is False]
    assert listed[:2] == ["heads.0", "heads.0.0"] and "heads.1" in listed
    assert {"heads.0.0.weight", "heads.1.1.running_mean"} <= {n for s in recorded["storages"] for n in s["names"]}
    report = graphcheck_report(model, torch.randn(4, 8))
    assert report["branches"] == ["heads.0", "heads.1"] and report["independent"] is True
    warning = next(f for f in report["findings"] if f["rule"] == "unregistered-module")
    assert warning["severity"] == "warning" and "nn.ModuleList" in warning["help"]
    assert graphcheck_report(_ListedHeads(one_object=True), torch.randn(4, 8))["independent"] is False, "[head] * 2 in a plain list is one head"


class _ListedWeights(torch.nn.Module):
    """Per-task weight matrices held bare in a plain list (the forum's "my weights do not train"), and a scale
    in the class body; `one_object`: the third slot is the first's Parameter."""

    scale = torch.nn.Parameter(torch.ones(1))

    def __init__(self, one_object=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.weights = [torch.nn.Parameter(torch.randn(16, 2)) for _ in range(3)]
        self.also_trunk = [self.trunk.bias]  # registered under another name: not reported
        if one_object:
            self.weights[2] = self.weights[0]

    def forward(self, x):
        t = torch.relu(self.trunk(x)) * self.scale
        return tuple(t @ w for w in self.weights)


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_parameters_held_bare_in_a_plain_list_are_storages_the_model_does_not_register(graphcheck_binary, tensors):
    model = _ListedWeights()
    before = [w.clone() for w in model.weights]
    recorded = trace(model, torch.randn(4, 8), tensors=tensors)
    assert all(torch.equal(a, b) and type(b) is torch.nn.Parameter for a, b in zip(before, model.weights))
    unregistered = [s["names"] for s in recorded["storages"] if s.get("registered") is False]
    assert unregistered == [["weights.0"], ["weights.1"], ["weights.2"], ["scale"]]
    assert [n["module"] for n in recorded["nodes"] if n["op"] == "linear"][1:] == ["weights.0", "weights.1", "weights.2"]
    report = graphcheck_report(model, torch.randn(4, 8))
    warnings = [f for f in report["findings"] if f["rule"] == "unregistered-module"]
    assert [w["severity"] for w in warnings] == ["warning", "warning"]
    assert "weights.0, weights.1, weights.2 (Parameter)" in warnings[0]["message"] and "nn.ParameterList" in warnings[0]["help"]
    assert report["branches"] == ["weights.0", "weights.1", "weights.2"] and report["independent"] is True
    shared = graphcheck_report(_ListedWeights(one_object=True), torch.randn(4, 8))
    assert shared["independent"] is False and "shared-storage" in [f["rule"] for f in shared["findings"]]


class _ClassBodyHead(torch.nn.Module):
    proj = torch.nn.Linear(16, 16)  # in the class body: one object for every head, registered by none

    def __init__(self):
        super().__init__()
        self.out = torch.nn.Linear(16, 4)

    def forward(self, t):
        return self.out(torch.relu(self.proj(t)))


class _ClassBodyHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.head1 = _ClassBodyHead()
        self.head2 = _ClassBodyHead()

    def forward(self, x):
        t = torch.relu(self.trunk(x))
        return self.head1(t), self.head2(t)


def test_a_module_in_the_class_body_is_one_object_shared_by_every_instance(graphcheck_binary):
    model = _ClassBodyHeads()
    assert "head1.proj.weight" not in dict(model.named_parameters())
    recorded = trace(model, torch.randn(4, 8))
    listed = {m["path"]: m["instance"] for m in recorded["modules"] if m.get("registered") is False}
    assert set(listed) == {"head1.proj", "head2.proj"} and listed["head1.proj"] == listed["head2.proj"]
    assert ["head1.proj.weight", "head2.proj.weight"] in [s["names"] for s in recorded["storages"]]
    report = graphcheck_report(model, torch.randn(4, 8))
    assert report["branches"] == ["head1", "head2"] and report["independent"] is False
    assert "shared-storage" in {f["rule"] for f in report["findings"]}
    warning = next(f for f in report["findings"] if f["rule"] == "unregistered-module")
    assert warning["evidence"]["held"] == "attribute" and "`__init__`" in warning["help"]


class _HeadMadeInForward(torch.nn.Module):
    """A forum bug: the second head made anew in every forward (never trained); a parameterless module made
    there too, which is harmless; `lazy`: a head built on the first call and kept, the model's own after it."""

    def __init__(self, lazy=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.head1 = torch.nn.Linear(16, 4)
        self.lazy = lazy

    def forward(self, x):
        t = torch.nn.ReLU()(self.trunk(x))
        if self.lazy:
            if not hasattr(self, "head2"):
                self.head2 = torch.nn.Linear(16, 4)
            return self.head1(t), self.head2(t)
        head2 = torch.nn.Linear(16, 4)
        return self.head1(t), head2(t)


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_a_head_made_in_the_forward_is_named_and_reported(tensors, graphcheck_binary):
    recorded = trace(_HeadMadeInForward(), torch.randn(4, 8), tensors=tensors)
    made = [m for m in recorded["modules"] if m.get("made_in_forward")]
    assert [(m["path"], m["type"], m.get("registered")) for m in made] == [("head2", "Linear", False)]
    assert {"head2.weight", "head2.bias"} <= {n for s in recorded["storages"] for n in s["names"]}
    assert [n["module"] for n in recorded["nodes"] if n["op"] == "linear"] == ["trunk", "head1", "head2"]
    report = graphcheck_report(_HeadMadeInForward(), torch.randn(4, 8))
    assert report["branches"] == ["head1", "head2"] and report["independent"] is True
    warning = next(f for f in report["findings"] if f["rule"] == "unregistered-module")
    assert warning["evidence"]["held"] == "forward" and "makes its weights anew" in warning["message"]


def test_a_head_built_on_the_first_call_is_the_model_s_own():
    recorded = trace(_HeadMadeInForward(lazy=True), torch.randn(4, 8))  # its first call: the forward assigns head2
    assert not any(m.get("made_in_forward") for m in recorded["modules"])
    assert [n["module"] for n in recorded["nodes"] if n["op"] == "linear"] == ["trunk", "head1", "head2"]


def test_torch_s_fake_kernel_tracebacks_are_not_printed(graphcheck_binary, caplog):
    import logging

    class LogsLikeAFailingFakeKernel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            logging.getLogger("torch._subclasses.fake_tensor").error("failed while attempting to run meta for aten.x")
            return self.fc(x)

    level = logging.getLogger("torch._subclasses.fake_tensor").level
    with caplog.at_level(logging.DEBUG):
        trace(LogsLikeAFailingFakeKernel(), torch.randn(2, 4))
    assert not [r for r in caplog.records if "attempting to run meta" in r.getMessage()]
    assert logging.getLogger("torch._subclasses.fake_tensor").level == level, "the logger is left as it was"


class _InplaceBeforeTheCalls(_ArgumentAndView):
    """The in-place ReLU is a statement of its own, on the line of the head calls: not an argument of either."""

    def forward(self, x):
        t = torch.nn.functional.relu(self.trunk(x), inplace=True); return self.head1(t), self.head2(t)  # noqa: E702


def test_an_inplace_statement_on_the_line_of_a_module_call_is_not_its_argument(graphcheck_binary):
    relu = next(n for n in trace(_InplaceBeforeTheCalls(), torch.randn(3, 4))["nodes"] if n["op"] == "relu")
    assert "argument_of" not in relu.get("attrs", {})
    assert graphcheck_report(_InplaceBeforeTheCalls(), torch.randn(3, 4))["independent"] is True


class _ParameterHeads(torch.nn.Module):
    """Per-task heads kept as parameters: a ParameterList of weights and a ParameterDict of biases;
    `one_weight`: `ParameterList([w] * 3)`, one tensor in every slot."""

    def __init__(self, one_weight=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        w = torch.nn.Parameter(torch.randn(16, 2))
        self.weights = torch.nn.ParameterList([w] * 3 if one_weight else [torch.nn.Parameter(torch.randn(16, 2)) for _ in range(3)])
        self.biases = torch.nn.ParameterDict({str(i): torch.nn.Parameter(torch.zeros(2)) for i in range(3)})

    def forward(self, x):
        t = torch.relu(self.trunk(x))
        return [t @ w + self.biases[str(i)] for i, w in enumerate(self.weights)]


def test_heads_kept_as_parameter_lists_are_heads(graphcheck_binary):
    nodes = trace(_ParameterHeads(), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] == "linear"][1:] == ["weights.0", "weights.1", "weights.2"]
    report = graphcheck_report(_ParameterHeads(), torch.randn(4, 8))
    assert report["branches"] == ["weights.0", "weights.1", "weights.2"] and report["independent"] is True
    shared = graphcheck_report(_ParameterHeads(one_weight=True), torch.randn(4, 8))
    assert shared["independent"] is False and "shared-storage" in [f["rule"] for f in shared["findings"]]


class _HeadInEverySlot(torch.nn.Module):
    """`self.head` registered, and the same module in every slot of `self.heads`, which the forward loops over."""

    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.head = torch.nn.Linear(16, 2)
        self.heads = torch.nn.ModuleList([self.head for _ in range(3)])

    def forward(self, x):
        t = self.trunk(x)
        return [head(t * (i + 1)) for i, head in enumerate(self.heads)]


def test_calls_through_the_slots_of_a_container_take_the_slots_paths(graphcheck_binary):
    nodes = trace(_HeadInEverySlot(), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] == "linear"] == ["trunk", "heads.0", "heads.1", "heads.2"]
    report = graphcheck_report(_HeadInEverySlot(), torch.randn(4, 8))
    assert report["branches"] == ["heads.0", "heads.1", "heads.2"] and report["independent"] is False


class _SlicedAtTheCall(torch.nn.Module):
    """The policy's last layer is head 1 and the value head reads its hidden layer, computed by slicing the
    network in the forward (`self.net[:-1](x)`: a new Sequential, never registered, around the model's layers)."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Sequential(torch.nn.Linear(16, 16)), torch.nn.Linear(16, 4))
        self.value = torch.nn.Linear(16, 1)

    def forward(self, x):
        h = self.net[:-1](x)
        return self.net[-1](h), self.value(h)


def test_layers_called_through_a_slice_made_in_the_forward_keep_their_names(graphcheck_binary):
    nodes = trace(_SlicedAtTheCall(), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] in ("linear", "tanh")] == ["net.0", "net.1", "net.2.0", "net.3", "value"]
    report = graphcheck_report(_SlicedAtTheCall(), torch.randn(4, 8))
    assert sorted(report["branches"]) == ["net.3", "value"] and report["independent"] is True


@pytest.mark.parametrize("alias", [True, False])
def test_a_layer_called_through_a_slice_is_named_in_the_container_it_was_cut_from(alias, graphcheck_binary):
    nodes = trace(SlicedHeadsSharingALayer(alias), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] == "linear"] == ["trunk", "image_head.0", "image_head.2", "answer_head.0", "answer_head.2"]
    report = graphcheck_report(SlicedHeadsSharingALayer(alias), torch.randn(4, 8))
    assert sorted(report["branches"]) == ["answer_head", "image_head"] and report["independent"] is (not alias), report["findings"]
    assert ("shared-storage" in [f["rule"] for f in report["findings"]]) == alias


class _Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.classifier = torch.nn.Linear(8, 16), torch.nn.Linear(16, 4)

    def features(self, x):
        return torch.relu(self.body(x))

    def head(self, f):
        return self.classifier(f)


class _AuxThroughMethods(torch.nn.Module):
    """A model's features and head called through its methods, not its forward (timm's `forward_features` /
    `forward_head`), and an aux head beside them; `alias`: the aux head is the model's classifier object."""

    def __init__(self, alias):
        super().__init__()
        self.m = _Classifier()
        self.aux = self.m.classifier if alias else torch.nn.Linear(16, 4)

    def forward(self, x):
        f = self.m.features(x)
        return self.m.head(f), self.aux(f * 2)


@pytest.mark.parametrize("alias", [False, True])
def test_a_layer_called_by_a_method_of_its_holder_takes_the_holders_name(alias, graphcheck_binary):
    nodes = trace(_AuxThroughMethods(alias), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] == "linear"] == ["m.body", "m.classifier", "aux"]
    report = graphcheck_report(_AuxThroughMethods(alias), torch.randn(4, 8))
    assert sorted(report["branches"]) == ["aux", "m.classifier"] and report["independent"] is (not alias)


class _BareWeightHeads(torch.nn.Module):
    """Two heads written as weight matrices the model holds bare beside its trunk; `alias`: the second is the first."""

    def __init__(self, alias=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.w_cls = torch.nn.Parameter(torch.randn(16, 3))
        self.w_reg = self.w_cls if alias else torch.nn.Parameter(torch.randn(16, 3))
        self.scale = torch.nn.Parameter(torch.ones(()))  # a scalar: not a head

    def forward(self, x):
        t = torch.relu(self.trunk(x)) * self.scale
        return t @ self.w_cls, t @ self.w_reg


def test_weights_held_bare_beside_the_trunk_are_heads(graphcheck_binary):
    nodes = trace(_BareWeightHeads(), torch.randn(4, 8))["nodes"]
    assert [n["module"] for n in nodes if n["op"] == "linear"] == ["trunk", "w_cls", "w_reg"]
    assert next(n for n in nodes if n["op"] == "mul")["module"] == "", "only matrix products move"
    report = graphcheck_report(_BareWeightHeads(), torch.randn(4, 8))
    assert report["branches"] == ["w_cls", "w_reg"] and report["independent"] is True
    assert graphcheck_report(_BareWeightHeads(alias=True), torch.randn(4, 8))["independent"] is False


class _UncalledHeads(torch.nn.Module):
    """Cosine classifiers: each head a Linear that is never called, its weight normalized and applied in the
    model's forward; and a prototype head kept in a bare nn.Module. `alias`: head2 is head1."""

    def __init__(self, alias=False):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.head1 = torch.nn.Linear(16, 3, bias=False)
        self.head2 = self.head1 if alias else torch.nn.Linear(16, 3, bias=False)
        self.protos = torch.nn.Module()
        self.protos.centers = torch.nn.Parameter(torch.randn(5, 16))

    def forward(self, x):
        t = torch.nn.functional.normalize(torch.relu(self.trunk(x)), dim=-1)
        cos = [t @ torch.nn.functional.normalize(h.weight, dim=-1).t() for h in (self.head1, self.head2)]
        return cos[0], cos[1], -torch.cdist(t, self.protos.centers)


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_ops_on_the_weights_of_a_module_never_called_are_that_modules(graphcheck_binary, tensors):
    nodes = trace(_UncalledHeads(), torch.randn(4, 8), tensors=tensors)["nodes"]
    by_module = {}
    for n in nodes:
        by_module.setdefault(n["module"], []).append(n["op"])
    # The weight normalized, then applied to the features: what a call of the head would have held.
    assert by_module["head1"] == ["linalg_vector_norm", "clamp_min", "expand", "div", "t", "mm"]
    assert "mm" not in by_module[""] and "linalg_vector_norm" in by_module[""], "the features' own normalization stays"
    assert "protos" in by_module
    report = graphcheck_report(_UncalledHeads(), torch.randn(4, 8))
    assert report["branches"] == ["head1", "head2", "protos"] and report["independent"] is True, report["findings"]
    shared = graphcheck_report(_UncalledHeads(alias=True), torch.randn(4, 8))
    assert shared["independent"] is False and "duplicate-computation" in [f["rule"] for f in shared["findings"]]


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_ops_run_without_grad_pass_no_gradient_back(tensors):
    """An op run with gradients off reads tensors that require grad, but backward never reaches them through
    it: the trace says so as `.detach()` would (no_grad_inputs), and only there."""
    recorded = trace(NoGradContext(), (torch.randn(4, 8),), tensors=tensors)
    marked = [(n["op"], n["attrs"]["no_grad_inputs"]) for n in recorded["nodes"] if "no_grad_inputs" in n.get("attrs", {})]
    assert marked == [("mul", [0])]


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_a_value_detached_in_place_passes_no_gradient_back(tensors):
    """`c.detach_()` cuts `c` from its history without an op the recorder sees: the op that reads `c` next
    says so, as for `.detach()`, and no other op does."""
    recorded = trace(DetachedInPlace(), (torch.randn(4, 8),), tensors=tensors)
    marked = [(n["op"], n["attrs"]["no_grad_inputs"]) for n in recorded["nodes"] if "no_grad_inputs" in n.get("attrs", {})]
    assert marked == [("add", [1])]


def test_a_head_reading_a_no_grad_copy_of_another_is_independent(graphcheck_binary):
    report = graphcheck_report(NoGradContext(), torch.randn(4, 8))
    assert report["branches"] == ["head1", "head2"] and report["independent"] is True, report["findings"]


class _ReadsTheOtherHead(NoGradContext):
    """head2 reads head1's output itself: a leak."""

    def forward(self, x):
        t = torch.relu(self.trunk(x))
        a = self.head1(t)
        return a, self.head2(t + a)


@pytest.mark.parametrize("model, independent", [(_ReadsTheOtherHead, False), (NoGradContext, True)], ids=["leak", "no_grad copy"])
def test_an_export_under_inference_mode_records_autograd_as_any_other(graphcheck_binary, model, independent):
    """Under the caller's `torch.inference_mode()` autograd records nothing, and a leak between heads passed (exit 0):
    the exporter turns inference mode off as it does `no_grad()`. An input made in inference mode, which autograd
    may not save, is copied, and left as it was."""
    made = model()
    with torch.inference_mode():
        x = torch.randn(4, 8)
        report = graphcheck_report(made, x)
    assert x.is_inference()
    assert report["branches"] == ["head1", "head2"] and report["independent"] is independent, report["findings"]


def test_a_list_of_the_models_own_parameters_names_none_of_them(graphcheck_binary):
    """Every parameter named in the list too was named outside the heads, so each was the trunk's and the leak
    passed (exit 0). A parameter the model registers is named by its registered names only."""
    recorded = trace(KeepsItsParameters(), torch.randn(4, 8))
    assert not [n for s in recorded["storages"] for n in s["names"] if n.startswith("keep.")]
    report = graphcheck_report(KeepsItsParameters(), torch.randn(4, 8))
    assert report["independent"] is False and "gradient-leak" in [f["rule"] for f in report["findings"]]


def test_a_leak_in_a_distributed_data_parallel_model_is_found(graphcheck_binary, tmp_path):
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/rendezvous", rank=0, world_size=1)
    try:
        report = graphcheck_report(torch.nn.parallel.DistributedDataParallel(_ReadsTheOtherHead()), torch.randn(4, 8))
    finally:
        dist.destroy_process_group()
    assert report["branches"] == ["module.head1", "module.head2"] and report["independent"] is False


def test_a_model_made_in_inference_mode_is_refused_with_what_to_do():
    with torch.inference_mode():
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"made under torch.inference_mode\(\) \(0.weight, 0.bias, 2.weight, …\).*outside inference mode"):
        trace(model, torch.randn(2, 3))


class _CheckpointedHeads(torch.nn.Module):
    """Heads run through reentrant checkpointing (`use_reentrant=True`, the old default): a custom autograd
    Function whose forward runs the head with gradients off and whose backward runs it again. `leak`: head2
    reads the trunk's output plus head1's."""

    def __init__(self, leak):
        super().__init__()
        self.trunk = torch.nn.Linear(8, 16)
        self.head1 = torch.nn.Linear(16, 16)
        self.head2 = torch.nn.Linear(16, 4)
        self.leak = leak

    def forward(self, x):
        from torch.utils.checkpoint import checkpoint
        t = torch.relu(self.trunk(x))
        a = checkpoint(self.head1, t, use_reentrant=True)
        return a, checkpoint(self.head2, t + a if self.leak else t, use_reentrant=True)


@pytest.mark.parametrize("leak", [True, False])
def test_ops_a_custom_autograd_function_runs_without_grad_still_pass_gradient(leak, graphcheck_binary):
    """The Function's output requires grad although its ops ran with gradients off: backward runs through
    them after all, and the leak is found exactly when autograd finds it."""
    model = _CheckpointedHeads(leak)
    head2 = model(torch.randn(4, 8))[1]
    head2.sum().backward()
    assert (model.head1.weight.grad is not None) == leak
    model.zero_grad(set_to_none=True)
    report = graphcheck_report(model, torch.randn(4, 8))
    assert report["branches"] == ["head1", "head2"] and report["independent"] is (not leak), report["findings"]


@pytest.mark.parametrize("tensors", ["fake", "real"])
@pytest.mark.parametrize("condition", ["reversed", "stopped"])
def test_a_custom_functions_backward_is_asked_which_inputs_it_gives_a_gradient(condition, tensors, graphcheck_binary):
    """Autograd, asked from the Function's result, tells a stop-gradient (backward returns None) from a gradient
    reversal: the domain head reading the label head's result through the first is independent of it, through the
    second it is not — exactly as autograd finds on the live model."""
    model = DomainAdversarial(condition)
    model(torch.randn(4, 8))[1].sum().backward()
    leak = any(p.grad is not None for p in model.label_head.parameters())
    assert leak == (condition == "reversed")
    model.zero_grad(set_to_none=True)
    recorded = trace(model, (torch.randn(4, 8),), tensors=tensors)
    cut = [n for n in recorded["nodes"] if n["op"] == "clone" and n.get("attrs", {}).get("no_grad_inputs") == [0]]
    assert len(cut) == (0 if leak else 1)
    report = graphcheck_report(model, torch.randn(4, 8))
    assert report["branches"] == ["label_head", "domain_head"] and report["independent"] is (not leak), report["findings"]


class _QueueAfterUse(torch.nn.Module):
    """MoCo's negatives in small: the logits against a queue buffer, then this batch's keys written into the
    queue in the forward. `copy`: read as `self.queue.clone()` (MoCo's own code), which keeps backward working.
    `data`: written through `.data`, which autograd does not see (no error, and no finding)."""

    def __init__(self, copy=False, data=False):
        super().__init__()
        self.encoder = torch.nn.Linear(8, 3)
        self.register_buffer("queue", torch.randn(3, 16))
        self.copy, self.data = copy, data

    def forward(self, x):
        q = self.encoder(x)
        logits = q @ (self.queue.clone() if self.copy else self.queue)
        with torch.no_grad():
            (self.queue.data if self.data else self.queue)[:, :4] = q.T
        return logits


def _backward_breaks(model, x):
    try:
        model(x).sum().backward()
    except RuntimeError as error:
        assert "inplace" in str(error)
        return True
    return False


@pytest.mark.parametrize("variant", [{}, {"copy": True}, {"data": True}], ids=["queue", "clone", "data"])
@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_a_buffer_overwritten_after_an_op_saved_it_is_listed_exactly_when_backward_breaks(variant, tensors):
    broken = _backward_breaks(_QueueAfterUse(**variant), torch.randn(4, 8))
    assert broken == (not variant)
    recorded = trace(_QueueAfterUse(**variant), (torch.randn(4, 8),), tensors=tensors)
    queue = next(s["id"] for s in recorded["storages"] if s["names"] == ["queue"])
    savers = [n["op"] for n in recorded["nodes"] if queue in n.get("saves", [])]
    assert savers == (["linear"] if broken else [])


def test_batch_norm_called_twice_lists_no_running_statistics():
    """BatchNorm's own updates of its running statistics do not move autograd's version counter: one
    BatchNorm applied twice in training mode trains fine, and nothing is listed."""
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.BatchNorm1d(4))
    twice = lambda x: model[1](model(x) * 2)  # noqa: E731
    twice(torch.randn(4, 8)).sum().backward()
    holder = torch.nn.Module()
    holder.model = model
    holder.forward = twice
    recorded = trace(holder, (torch.randn(4, 8),))
    assert not any(ref.startswith("s") for n in recorded["nodes"] for ref in n.get("saves", []))


def test_a_queue_overwritten_after_use_is_an_error_without_heads(graphcheck_binary):
    report = graphcheck_report(_QueueAfterUse(), torch.randn(4, 8))
    hazards = [f for f in report["findings"] if f["rule"] == "inplace-hazard"]
    assert report["independent"] is False and len(hazards) == 1, report["findings"]
    assert hazards[0]["evidence"]["tensor"] == "queue"


class _StepsIntoOneTensor(torch.nn.Module):
    """A recurrent loop writing each step into a preallocated tensor and reading the step before from it."""

    def __init__(self):
        super().__init__()
        self.start = torch.nn.Linear(8, 16)
        self.cell = torch.nn.Linear(16, 16)

    def forward(self, x):
        out = torch.zeros(x.shape[0], 3, 16)
        out[:, 0] = torch.tanh(self.start(x))
        for t in range(1, 3):
            out[:, t] = torch.tanh(self.cell(out[:, t - 1]))
        return out


@pytest.mark.parametrize("model", [OtherHalfWritten, lambda: OtherHalfWritten(fixed=True), OtherRowWritten,
                                   lambda: OtherRowWritten(fixed=True), _StepsIntoOneTensor],
                         ids=["other-slice", "other-slice-fixed", "other-row", "other-row-fixed", "steps"])
@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_a_write_elsewhere_in_a_saved_tensors_memory_is_listed_exactly_when_backward_breaks(model, tensors):
    out = model()(torch.randn(4, 8))
    try:
        sum(o.sum() for o in (out if isinstance(out, tuple) else (out,))).backward()
        broken = False
    except RuntimeError as error:
        assert "inplace" in str(error)
        broken = True
    recorded = trace(model(), (torch.randn(4, 8),), tensors=tensors)
    listed = [n for n in recorded["nodes"] if n.get("overwrites_saved")]
    assert bool(listed) == broken


@pytest.mark.parametrize("fixed", [False, True])
def test_a_write_elsewhere_in_a_saved_tensors_memory_is_an_inplace_hazard(fixed, graphcheck_binary):
    report = graphcheck_report(OtherHalfWritten(fixed), torch.randn(4, 8))
    hazards = [f for f in report["findings"] if f["rule"] == "inplace-hazard"]
    assert report["independent"] is fixed and bool(hazards) is not fixed, report["findings"]


class _ScaledThroughAnAlias(torch.nn.Module):
    """head1's Linear keeps the trunk's output; then it is halved in place for head2 through an alias:
    `.data` (autograd does not see the write), `.detach()` (it does), or out of place."""

    def __init__(self, alias):
        super().__init__()
        self.pre = torch.nn.Linear(8, 16)
        self.head1, self.head2 = torch.nn.Linear(16, 2), torch.nn.Linear(16, 2)
        self.alias = alias

    def forward(self, x):
        t = self.pre(x)
        a = self.head1(t)
        if self.alias == "data":
            t.data.mul_(0.5)
        elif self.alias == "detach":
            t.detach().mul_(0.5)
        else:
            t = t * 0.5
        return a, self.head2(t)


@pytest.mark.parametrize("tensors", ["fake", "real"])
def test_a_write_autograd_does_not_watch_is_marked(tensors):
    for alias in ("data", "detach"):
        nodes = trace(_ScaledThroughAnAlias(alias), (torch.randn(4, 8),), tensors=tensors)["nodes"]
        through = [n["attrs"] for n in nodes if "through_view" in n.get("attrs", {})]
        assert len(through) == 1 and through[0].get("unwatched", False) is (alias == "data"), (alias, through)


def test_a_write_through_data_is_reported_as_silently_wrong_gradients(graphcheck_binary):
    # The live model first: through `.data` backward runs and head1's gradient differs from the out-of-place
    # model's; through `.detach()` backward raises.
    x = torch.randn(4, 8)
    grads = {}
    for alias in ("data", "none"):
        torch.manual_seed(0)
        model = _ScaledThroughAnAlias(alias)
        sum(o.sum() for o in model(x)).backward()
        grads[alias] = model.head1.weight.grad
    assert not torch.allclose(grads["data"], grads["none"])
    torch.manual_seed(0)
    with pytest.raises(RuntimeError, match="inplace"):
        sum(o.sum() for o in _ScaledThroughAnAlias("detach")(x)).backward()
    messages = {}
    for alias in ("data", "detach"):
        report = graphcheck_report(_ScaledThroughAnAlias(alias), x)
        hazards = [f for f in report["findings"] if f["rule"] == "inplace-hazard"]
        assert report["independent"] is False and len(hazards) == 1, report["findings"]
        assert hazards[0]["evidence"]["unwatched"] is (alias == "data")
        messages[alias] = hazards[0]["message"]
    assert "backward() does not raise, and computes the gradients of head1" in messages["data"]
    assert "backward() raises" in messages["detach"]


def test_views_share_elements_exactly_when_their_offsets_meet():
    """The element test behind writes through views, against the offsets themselves: views of one storage in
    random geometries (gapless, strided with holes, overlapping windows, broadcast), whose ranges overlap."""
    import random

    from graphcheck_torch.memory import _element_offsets, _share_elements

    rng = random.Random(0)
    storage = torch.zeros(400)

    def view():
        shape = [rng.randint(1, 5) for _ in range(rng.randint(1, 3))]
        stride = list(torch.empty(shape).stride()) if rng.random() < 0.3 else [rng.randint(0, 12) for _ in shape]
        extent = sum((n - 1) * s for n, s in zip(shape, stride))
        return storage.as_strided(shape, stride, rng.randint(0, 399 - extent))

    checked = 0
    while checked < 2000:
        a, b = view(), view()
        oa, ob = set(_element_offsets(a).tolist()), set(_element_offsets(b).tolist())
        if min(oa) <= max(ob) and min(ob) <= max(oa):
            assert _share_elements(a, b) == bool(oa & ob), (a.shape, a.stride(), a.storage_offset(), b.shape, b.stride(), b.storage_offset())
            checked += 1


DEEP_CHAIN = """
import sys
import torch
from graphcheck_torch.exporter import export

class Deep(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(4))
        self.head1, self.head2 = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)

    def forward(self, x):
        x = x * self.w
        for _ in range(60000):
            x = x * 1.0001
        return self.head1(x), self.head2(x)

export(Deep(), (torch.randn(2, 4),), sys.argv[1], tensors="real")
"""


def test_a_model_sixty_thousand_ops_deep_is_exported_on_the_default_stack(tmp_path):
    """Freeing a deep autograd graph must not recurse once per op: the exporter once read `grad_fn`, which gives
    each node a Python object, and the chain of them overflowed the 8 MB stack (a segfault) when the export
    dropped the model's output. In a child process with the default stack, so a crash fails this test only."""
    out = tmp_path / "deep.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(["bash", "-c", 'ulimit -S -s 8192 && exec "$0" -c "$1" "$2"', sys.executable, DEEP_CHAIN, str(out)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert len(json.loads(out.read_text())["nodes"]) > 60000
