import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses an SVG as XML and collects what the tests look at. A parse failure is itself a finding: the
/// SVG must stay well-formed whatever names the model has.
final class SVGInspector: NSObject, XMLParserDelegate {
    private(set) var elements: [String: Int] = [:]
    private(set) var attributeNames = Set<String>()
    private(set) var strokes: [String] = []
    private(set) var groupClasses: [String: Int] = [:]
    private(set) var text = ""
    private(set) var error: Error?

    init(_ bytes: [UInt8]) {
        super.init()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = self
        if !parser.parse() { error = parser.parserError ?? NSError(domain: "svg", code: 1) }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
        attributeNames.formUnion(attributes.keys)
        if let stroke = attributes["stroke"] { strokes.append(stroke) }
        if name == "g", let cls = attributes["class"] { groupClasses[cls, default: 0] += 1 }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}
