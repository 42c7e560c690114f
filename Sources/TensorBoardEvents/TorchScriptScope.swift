import Foundation

/// A TorchScript scope as TensorBoard writes node names:
/// `DenseNet121MultiHead/Sequential[branch1]/_DenseBlock[denseblock4]/BatchNorm2d[norm1]/input.3`.
/// The `Type[name]` components are modules; the first component is the model's class; the last is the
/// value's own name; any other plain component (`weight` in `…/BatchNorm2d[norm1]/weight/weight.5`) is the
/// folder TensorBoard files a parameter under.
struct TorchScriptScope {
    /// Module names along the scope, outermost first (`["branch1", "denseblock4", "norm1"]`).
    var names: [String] = []
    /// Module class names, parallel to `names`.
    var types: [String] = []
    var root: String?

    init(nodeName: String) {
        let components = nodeName.split(separator: "/", omittingEmptySubsequences: false)
        for (index, component) in components.dropLast().enumerated() {
            if component.hasSuffix("]"), let open = component.firstIndex(of: "[") {
                types.append(String(component[..<open]))
                names.append(String(component[component.index(after: open)..<component.index(before: component.endIndex)]))
            } else if index == 0 {
                root = String(component)
            }
        }
    }

    var path: String { names.joined(separator: ".") }
}

/// `{ name :  running_var }` → `running_var`; `{ value : 1}` → `1`: one field of TorchScript's attribute
/// string.
func attributeField(_ text: String, _ key: String) -> String? {
    guard let keyRange = text.range(of: key) else { return nil }
    var rest = text[keyRange.upperBound...].drop { $0 == " " }
    guard rest.first == ":" else { return nil }
    rest = rest.dropFirst()
    let value = rest.prefix { $0 != "}" && $0 != "," }.trimmingCharacters(in: .whitespaces)
    return value.isEmpty ? nil : value
}
