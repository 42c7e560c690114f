import FormatSupport
import GraphIR
import OrderedCollections

/// Findings the way a compiler prints diagnostics: severity and rule, message, places, notes, help, then
/// a one-line verdict.
public enum TextReporter {
    /// `style` colours severities and the verdict on a terminal; the words are the same either way.
    public static func render(_ report: Report, style: TerminalStyle = .plain) -> String {
        var out = ""
        for finding in report.findings {
            out += style.severity(finding.severity, "\(finding.severity.rawValue)[\(finding.rule)]") + ": \(finding.message)\n"
            for detail in finding.details { out += "  --> \(detail)\n" }
            for note in finding.notes { out += "  = note: \(note)\n" }
            if let help = finding.help { out += "  = help: \(help)\n" }
            out += "\n"
        }
        if let how = discovery(report) { out += how + "\n" }
        let line = verdict(report)
        switch report.independent {
        case .some(true): out += style.green(line) + "\n"
        case .some(false): out += style.red(line) + "\n"
        case .none: out += style.yellow(line) + "\n"
        }
        return out
    }

    /// How the branches were found, in a line, when the analyzer found them.
    public static func discovery(_ report: Report) -> String? {
        guard let found = report.discovery, let parent = found.parent else { return nil }
        if found.routed {
            let ran = found.branches.map(\.name).filter { !report.branchesNotRun.contains($0) }
            return "branches: slots of \(parent.isEmpty ? "the model" : parent) of which only \(list(ran)) ran (the forward calls one per input), "
                + "taken because \(list(report.branchesNotRun)) \(report.branchesNotRun.count == 1 ? "shares" : "share") storage with \(ran.count == 1 ? "it" : "them")"
                + " (--branch PREFIX chooses others)"
        }
        let levels = ([parent] + found.paired).map { $0.isEmpty ? "the model" : $0 }
        let named = levels.count == 1 ? levels[0] : levels.dropLast().joined(separator: ", ") + " and " + levels.last!
        var line = found.towerInputs.isEmpty
            ? "branches: children of \(named) whose ops reach separate results (\(found.terminals) in all)"
            : "branches: children of \(named) that each compute from an input of their own ("
                + towerSources(found.towerInputs) + ")" + (found.towerResultRead?.bySlot == true ? "" : ", fused further on")
        let noted = found.branches.filter { $0.prefixes.count > 1 || found.otherLevel(of: $0.name) != nil }
        if !noted.isEmpty {
            line += "; " + noted.map { branch in
                let with = branch.prefixes.count > 1 ? " with \(list(branch.prefixes.filter { $0 != branch.name }))" : ""
                let from = found.otherLevel(of: branch.name).map { " (a child of \($0.isEmpty ? "the model" : $0))" } ?? ""
                return branch.name + with + from
            }.joined(separator: ", ")
        }
        if let read = found.towerResultRead, read.bySlot, let reader = read.reader {
            let beside = read.returned.filter { ModulePath.parent(of: $0) == ModulePath.parent(of: reader) }
            line += "; \(reader) taken for \(list(read.without))'s head, a slot beside \(list(beside)) in one container, "
                + "though it reads \(read.result ? "the returned result of" : "what is computed by") \(list(read.returned))"
        }
        if !found.trunk.isEmpty { line += "; trunk: \(list(found.trunk))" }
        if !found.stages.isEmpty { line += "; not \(list(found.stages)), which feed one another" }
        if let other = found.alternatives.first(where: { $0 != found.stages }) { line += "; deeper split: \(list(other))" }
        let several = found.branches.contains { $0.prefixes.count > 1 }
        return line + (several ? " (--branch PREFIX[,PREFIX…] chooses others)" : " (--branch PREFIX chooses others)")
    }

    /// What towers are fed, for the branches line: `inputs 0, 1`, or `parts of input 0` when some share one.
    static func towerSources(_ inputs: [Int]) -> String {
        let distinct = OrderedSet(inputs)
        let positions = distinct.map(String.init).joined(separator: ", ")
        guard distinct.count < inputs.count else { return "inputs \(positions)" }
        return "parts of input\(distinct.count == 1 ? "" : "s") \(positions)"
    }

    /// The one-line verdict. `standingAlone`: for a picture's title, where no findings are printed above it,
    /// the warning an undecided verdict rests on is named instead of pointed at.
    public static func verdict(_ report: Report, standingAlone: Bool = false) -> String {
        let model = report.model.isEmpty ? "model" : report.model
        let count = report.branches.count
        let names = count == 0 ? "" : " (\(list(report.branches)))"
        let source = report.branchesDiscovered ? "found" : "given"
        switch report.independent {
        case .some(true):
            // Info findings the user declared (allow-shared, tied weights): a module reused without a
            // declaration is printed above as what it is, not counted as declared.
            let declared = report.findings.filter { $0.severity == .info && $0.equalCopies == nil && $0.moduleReuse?.declared != false }.count
            let copied = Set(report.findings.compactMap(\.equalCopies).flatMap(\.branches))
            let copies = report.branches.filter(copied.contains)
            let warnings = report.findings.filter { $0.severity == .warning }.count
            return "\(model): \(count) branches\(names) \(source) — independent"
                + (declared > 0 ? " apart from declared sharing (\(plural(declared, "info finding")))" : "")
                + (warnings > 0 ? ", with \(plural(warnings, "warning"))\(standingAlone ? "" : " above")" : "")
                + notRun(report)
                + (copies.isEmpty ? "" : "; \(copies.count == count ? "they" : list(copies)) start as equal copies and train apart")
        case .some(false):
            let errors = report.errorCount
            // Errors without two branches (an in-place op that breaks backward anywhere in the model) are no
            // finding between heads: said as what they are, with the same exit code.
            guard count >= 2 else {
                return "\(model): \(count == 0 ? "no branches found" : "only one branch\(names)") to compare, but \(plural(errors, "error"))"
                    + (standingAlone ? "" : " above") + " (no choice of heads changes them)"
            }
            return "\(model): \(count) branches\(names) \(source) — NOT independent: \(plural(errors, "error"))" + notRun(report)
        case .none:
            switch report.undecidedReason {
            case .inputCannotTell:
                let undecidable = report.findings.filter(\.undecidable)
                let reason = standingAlone ? undecidable.first.map { " — " + $0.message } ?? "" : " (see above)"
                return "\(model): \(report.branches.count) branches\(names) \(source) — cannot decide from this input: \(plural(undecidable.count, "warning"))" + reason
            case .storageNotRecorded:
                return "\(model): \(count) branches\(names) \(source) — no sharing visible, but cannot decide from this input: "
                    + unrecorded(report.basis)
            case .branchNotRun:
                let missing = report.branchesNotRun
                return "\(model): \(count) branches\(names) \(source) — cannot decide: \(list(missing)) did not run in this trace "
                    + "(\(missing.count == 1 ? "a registered module" : "registered modules") without ops; \(whyNotRun(report, missing.count)))"
            case .partsShareStorage:
                let inside = report.findings.compactMap { $0.severity == .warning ? $0.sharedStorage?.within : nil }
                return "\(model): \(count) branches\(names) \(source) — cannot decide: parts inside \(list(Array(Set(inside)).sorted())) share storage "
                    + (standingAlone ? "" : "(see above) ") + "and may be meant as heads of their own: give the heads with --branch PREFIX"
            case .tooManyResults:
                return "\(model): \(count) branches\(names) \(source) — cannot decide: the model has more separate results than "
                    + "\(BranchSet.capacity), so \(list(report.lumped)) \(report.lumped.count == 1 ? "stands" : "stand") for several heads "
                    + "whose ties to one another are not checked (their storage is): check them with --branch PREFIX, at most \(BranchSet.capacity)"
            case .towerResultRead:
                return "\(model): \(count) branches\(names) \(source) — cannot decide: " + towerResultRead(report)
            case .noBranches, nil:
                return "\(model): \(count == 0 ? "no branches found" : "only one branch\(names)") — cannot decide: nothing to compare "
                    + "(give branches with --branch PREFIX)" + notRun(report) + unreached(report) + evalOnly(report)
            }
        }
    }

    /// Why towers with a result read where they meet give no verdict, and the `--branch` that checks them as
    /// towers each ending in its own head.
    static func towerResultRead(_ report: Report) -> String {
        guard let read = report.discovery?.towerResultRead else { return "" }
        let reader = read.reader ?? "the op they meet in"
        let without = list(read.without), one = read.without.count == 1
        let what = read.result ? "the returned result of \(list(read.returned))" : "what \(list(read.returned)) compute (a tower with a result of its own)"
        var line = "\(reader) computes with \(what) and with \(without), which \(one ? "returns" : "return") "
            + "nothing of \(one ? "its" : "their") own: \(reader) may be \(one ? without + "'s" : "their") head reading another tower (a leak) "
            + "or a fusion meant to read it"
        if !read.suggested.isEmpty {
            line += "; to check the towers each with its own head: " + read.suggested.map { "--branch \($0.joined(separator: ","))" }.joined(separator: " ")
        }
        return line
    }

    /// Files written in eval mode hold no head that runs only in training (GoogLeNet's `aux1`, `aux2`):
    /// TensorBoard's `add_graph` always traces in eval mode, ONNX exporters do by default.
    static func evalOnly(_ report: Report) -> String {
        switch report.basis {
        case .path: return "; TensorBoard's add_graph traces in eval mode, so heads that run only in training (auxiliary classifiers) are not in this file"
        case .name: return "; ONNX exports run in eval mode unless asked otherwise, so heads that run only in training (auxiliary classifiers) may not be in this file"
        case .exact: return ""
        }
    }

    /// Why modules did not run, as far as the trace's mode tells: an eval-mode export skips training-only heads;
    /// a training-mode one ran everything the forward calls for the inputs given.
    static func whyNotRun(_ report: Report, _ count: Int) -> String {
        let them = count == 1 ? "it" : "them"
        switch report.mode {
        case .eval:
            return "an eval-mode export skips training-only heads such as auxiliary classifiers: export in training mode to check \(them)"
        case .train:
            return "the forward did not call \(them) for the inputs traced, in training mode: trace with inputs that reach \(them) to check \(them)"
        }
    }

    /// Modules that ran but reach no output: a head whose result only a loss reads is seen only when the forward
    /// computes that loss.
    static func unreached(_ report: Report) -> String {
        let idle = report.modulesUnreached
        guard !idle.isEmpty else { return "" }
        return "; \(list(idle)) ran but nothing \(idle.count == 1 ? "it computes" : "they compute") reaches the model's outputs "
            + "(if \(idle.count == 1 ? "it is a head" : "they are heads") whose result only a loss reads, export with the inputs a training step passes, "
            + "labels or targets included, so the forward computes that loss)"
    }

    /// Modules with parameters that did not run, which the verdict therefore does not cover.
    static func notRun(_ report: Report) -> String {
        let missing = report.modulesNotRun.filter { report.notRunSameObject[$0] == nil }
        var text = ""
        if !missing.isEmpty {
            text += "; not checked: \(list(missing)) \(missing.count == 1 ? "has" : "have") parameters but did not run in this trace "
                + "(\(whyNotRun(report, missing.count)))"
        }
        // Slots that are one object with the slot that ran, grouped by that slot.
        var twins: [String: [String]] = [:]
        for slot in report.modulesNotRun { if let ran = report.notRunSameObject[slot] { twins[ran, default: []].append(slot) } }
        for ran in twins.keys.sorted() {
            let others = twins[ran]!
            text += "; not checked: \(list(others)) \(others.count == 1 ? "is" : "are") the module object \(ran) is (one object in several slots) "
                + "and only \(ran) ran: if they are meant as separate heads they share all its weights (check with "
                + (others + [ran]).sorted().map { "--branch \($0)" }.joined(separator: " ") + ")"
        }
        return text
    }

    /// What an input without storage identity cannot show, and what can.
    static func unrecorded(_ basis: StorageIdentity) -> String {
        let format = basis == .path ? "a TorchScript graph (TensorBoard) knows tensors by attribute path" : "an ONNX model knows tensors by name"
        return "\(format), so a tensor shared under another module's name (`.data =`, `nn.Parameter(other)`) would not show; "
            + "export the model with `python -m graphcheck_torch MODULE:FACTORY --input SHAPE -o model.json` to decide"
    }
}
