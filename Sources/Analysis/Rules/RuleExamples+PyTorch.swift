/// The rules' examples as the PyTorch a user writes: a `Model` in `example.py`, checked through the
/// exporter (or an ONNX export for the ONNX rules). pytest runs every one against real torch.
extension RuleExamples {
    /// `example.py`: the imports, `Model.__init__`'s lines after `super().__init__()`, and forward's body.
    static func pytorch(copying: Bool = false, torch: Bool = true, members: [String], forward: [String], arguments: String = "x") -> String {
        var imports = copying ? ["import copy", ""] : []
        if torch { imports.append("import torch") }
        imports.append("from torch import nn")
        return imports.joined(separator: "\n") + "\n\n\nclass Model(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            + members.map { "        \($0)\n" }.joined() + "\n    def forward(self, \(arguments)):\n" + forward.map { "        \($0)\n" }.joined()
    }

    private static let trunk = "self.trunk = nn.Linear(8, 4)"
    private static let catOfTwo = ["t = self.trunk(x)", "return torch.cat([self.head1(t), self.head2(t)], dim=1)"]

    static let sharedStorage = PyTorchExample(
        triggering: pytorch(
            members: [trunk, "head = nn.Linear(4, 2)", "self.head1 = head", "self.head2 = head  # the same module object under a second name"],
            forward: catOfTwo),
        nonTriggering: pytorch(
            copying: true,
            members: [trunk, "head = nn.Linear(4, 2)", "self.head1 = head", "self.head2 = copy.deepcopy(head)  # equal at first, trained apart"],
            forward: catOfTwo),
        commands: exportAndCheck())

    static let equalCopies = PyTorchExample(
        triggering: pytorch(
            copying: true,
            members: [trunk, "head = nn.Linear(4, 2)", "self.head1 = copy.deepcopy(head)", "self.head2 = copy.deepcopy(head)  # equal values, separate tensors"],
            forward: catOfTwo),
        nonTriggering: pytorch(
            members: [trunk, "self.head1 = nn.Linear(4, 2)", "self.head2 = nn.Linear(4, 2)  # initialised on its own"],
            forward: catOfTwo),
        commands: exportAndCheck())

    /// head2 reads the trunk's output plus head1's (`leak`), or the trunk's only.
    private static func leak(_ leak: Bool) -> String {
        pytorch(
            members: [trunk, "self.head1 = nn.Linear(4, 4)", "self.head2 = nn.Linear(4, 4)"],
            forward: [
                "t = self.trunk(x)", "a = self.head1(t)",
                leak ? "b = self.head2(t + a)  # head1's output flows into head2" : "b = self.head2(t)  # each head reads the trunk only",
                "return torch.cat([a, b], dim=1)",
            ])
    }

    static let duplicateComputation = PyTorchExample(
        triggering: pytorch(
            members: [trunk, "head = nn.Linear(4, 2)", "self.heads = nn.ModuleList([head] * 2)  # one module in both slots"],
            forward: ["t = self.trunk(x)", "return torch.cat([h(t) for h in self.heads], dim=1)"]),
        nonTriggering: pytorch(
            copying: true, members: [trunk, "head = nn.Linear(4, 2)", "self.heads = nn.ModuleList([copy.deepcopy(head) for _ in range(2)])"],
            forward: ["t = self.trunk(x)", "return torch.cat([h(t) for h in self.heads], dim=1)"]),
        commands: exportAndCheck())

    static let leak = PyTorchExample(triggering: leak(true), nonTriggering: leak(false), commands: exportAndCheck())

    private static func inplaceHead(_ flag: String, _ comment: String) -> String {
        pytorch(
            members: [
                trunk, "self.head1 = nn.Sequential(nn.ReLU(\(flag)), nn.Linear(4, 2))  # \(comment)", "self.head2 = nn.Linear(4, 2)",
                "self.head3 = nn.Linear(4, 2)",
            ],
            forward: ["t = self.trunk(x)", "return torch.cat([self.head1(t), self.head2(t), self.head3(t)], dim=1)"])
    }

    static let inplace = PyTorchExample(
        triggering: inplaceHead("inplace=True", "overwrites t, which head2 and head3 read"),
        nonTriggering: inplaceHead("", "a new tensor: t stays as the trunk left it"), commands: exportAndCheck())

    static let siamese = PyTorchExample(
        triggering: pytorch(
            torch: false, members: ["self.encoder = nn.Linear(8, 4)"],
            forward: ["return self.encoder(a) - self.encoder(b)  # one encoder, two calls"], arguments: "a, b"),
        nonTriggering: pytorch(
            torch: false, members: ["self.encoder = nn.Linear(8, 4)", "self.encoder2 = nn.Linear(8, 4)"],
            forward: ["return self.encoder(a) - self.encoder2(b)"], arguments: "a, b"),
        commands: exportAndCheck(inputs: "--input 2x8 --input 2x8"))

    /// Two heads returned as a tuple, as ONNX exports show them; `head2` is how the second is made.
    private static func onnxHeads(copying: Bool = false, head: String, head2: String) -> String {
        pytorch(
            copying: copying, torch: false, members: [trunk, "self.head1 = \(head)", "self.head2 = \(head2)"],
            forward: ["t = self.trunk(x)", "return self.head1(t), self.head2(t)"])
    }

    private static let mlp = "nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))"

    static let sharedInitializer = PyTorchExample(
        triggering: onnxHeads(
            copying: true, head: "nn.Linear(4, 2)", head2: "copy.deepcopy(self.head1)  # equal values: the exporter keeps one initializer"),
        nonTriggering: onnxHeads(head: "nn.Linear(4, 2)", head2: "nn.Linear(4, 2)  # its own random values"),
        commands: onnxExportAndCheck(dynamo: false))

    private static let listedHeads = ["t = self.trunk(x)", "return torch.cat([head(t) for head in self.heads], dim=1)"]

    static let unregistered = PyTorchExample(
        triggering: pytorch(
            members: [trunk, "self.heads = [nn.Linear(4, 2) for _ in range(2)]  # a plain list: not registered"], forward: listedHeads),
        nonTriggering: pytorch(members: [trunk, "self.heads = nn.ModuleList([nn.Linear(4, 2) for _ in range(2)])"], forward: listedHeads),
        commands: exportAndCheck())

    static let mergedBranch = PyTorchExample(
        triggering: onnxHeads(head: mlp, head2: "self.head1  # one computation twice: the exporter keeps one"),
        nonTriggering: onnxHeads(head: mlp, head2: mlp), commands: onnxExportAndCheck(dynamo: true))
}
