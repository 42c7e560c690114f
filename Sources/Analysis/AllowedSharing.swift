import FormatSupport
import GraphIR

/// Sharing the user declared intended (`--allow-shared PATTERN`): a pattern names a module path or a
/// tensor name, with `*` and `?` wildcards (`encoder`, `heads.*.fc`, `embedding.weight`). A tensor is
/// allowed when one of its names matches, or lies under a module path that matches.
public struct AllowedSharing: Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns }

    /// Indices of the storages the patterns allow; a pattern that matches nothing is an error, since a
    /// typo must not silently leave the check as strict as before (or the user believing it is looser).
    func storages(in graph: Graph) throws(InputError) -> Set<Int> {
        var allowed = Set<Int>()
        for pattern in patterns {
            guard !pattern.isEmpty else { throw InputError(location: "--allow-shared", message: "a pattern must not be empty") }
            var matched = false
            for (index, storage) in graph.storages.enumerated() where storage.names.contains(where: { covers(pattern, $0) }) {
                allowed.insert(index)
                matched = true
            }
            guard matched else {
                throw InputError(location: "--allow-shared '\(pattern)'", message: "matches no module or tensor name")
            }
        }
        return allowed
    }

    /// Whether `pattern` matches `name` or one of the module paths it lies under.
    private func covers(_ pattern: String, _ name: String) -> Bool {
        if glob(pattern, name) { return true }
        return ModulePath.ancestors(of: name).contains { glob(pattern, $0) }
    }
}

/// Shell-style matching of `*` (any run, dots included) and `?` (one character).
func glob<S: StringProtocol>(_ pattern: String, _ text: S) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
            pi += 1; ti += 1
        } else if pi < p.count && p[pi] == "*" {
            star = pi; mark = ti; pi += 1
        } else if star >= 0 {
            pi = star + 1; mark += 1; ti = mark
        } else {
            return false
        }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
}
