// Wan's prompt cleaning as diffusers' WanPipeline does it before tokenizing (docs/wan21.md §6): HTML
// character references unescaped twice (by the HTML5 rules, as Python's html.unescape), the ends
// stripped, runs of white space collapsed to one space. diffusers also runs ftfy's mojibake repair when
// that package happens to be installed; the engine does not.

public enum PromptCleaning {
    /// The prompt WanPipeline tokenizes for `text`.
    public static func clean(_ text: String) -> String {
        collapseWhitespace(strip(unescapeHTML(unescapeHTML(text))))
    }

    /// Python's str.isspace: Unicode White_Space plus the four information separators U+1C…U+1F.
    static func isPythonSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace || (0x1C...0x1F).contains(u.value) }

    static func strip(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        guard let first = u.firstIndex(where: { !isPythonSpace($0) }), let last = u.lastIndex(where: { !isPythonSpace($0) }) else { return "" }
        return String(String.UnicodeScalarView(u[first...last]))
    }

    /// Runs of White_Space (the `\s` of the regex diffusers uses) → one space, then the ends stripped.
    static func collapseWhitespace(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var inSpace = false
        for u in s.unicodeScalars {
            if u.properties.isWhitespace { inSpace = true; continue }
            if inSpace && !out.isEmpty { out.append(" ") }
            inSpace = false
            out.append(u)
        }
        return String(out)
    }

    // MARK: HTML character references

    static let named: [String: [Unicode.Scalar]] = {
        var table: [String: [Unicode.Scalar]] = [:]
        for line in HTMLEntities.named.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            table[String(parts[0])] = scalars(parts[1])
        }
        return table
    }()
    static let replacedNumbers: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        for line in HTMLEntities.replacedNumbers.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            table[UInt32(parts[0], radix: 16)!] = scalars(parts[1])
        }
        return table
    }()
    static let droppedNumbers = Set(HTMLEntities.droppedNumbers.split(separator: " ").map { UInt32($0, radix: 16)! })

    static func scalars(_ hex: Substring) -> [Unicode.Scalar] {
        hex.split(separator: " ").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
    }

    /// One pass of HTML5 unescaping, left to right over non-overlapping references: `&#123;`, `&#x7B;`
    /// (the `;` optional), and `&name;` or a legacy `&name` — the longest known prefix of up to 32
    /// characters, the rest kept; an unknown reference stays as written.
    public static func unescapeHTML(_ text: String) -> String {
        let u = Array(text.unicodeScalars)
        guard u.contains("&") else { return text }
        var out = String.UnicodeScalarView()
        var i = 0
        func isDigit(_ c: Unicode.Scalar, hex: Bool) -> Bool {
            ("0"..."9").contains(c) || (hex && (("a"..."f").contains(c) || ("A"..."F").contains(c)))
        }
        while i < u.count {
            guard u[i] == "&", i + 1 < u.count else { out.append(u[i]); i += 1; continue }
            var j = i + 1
            if u[j] == "#" {
                let hex = j + 1 < u.count && (u[j + 1] == "x" || u[j + 1] == "X")
                var k = hex ? j + 2 : j + 1
                let start = k
                while k < u.count && isDigit(u[k], hex: hex) { k += 1 }
                guard k > start else { out.append(u[i]); i += 1; continue }
                let digits = String(String.UnicodeScalarView(u[start..<k]))
                if k < u.count && u[k] == ";" { k += 1 }
                out.append(contentsOf: numeric(UInt32(digits, radix: hex ? 16 : 10)))
                i = k
                continue
            }
            // A name: 1…32 characters other than tab, newline, form feed, space, <, &, #, ;, then an optional ;.
            while j < u.count && j - (i + 1) < 32 && !["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"].contains(u[j]) { j += 1 }
            guard j > i + 1 else { out.append(u[i]); i += 1; continue }
            if j < u.count && u[j] == ";" { j += 1 }
            let name = Array(u[(i + 1)..<j])
            if let value = named[String(String.UnicodeScalarView(name))] {
                out.append(contentsOf: value)
            } else if let x = (2..<name.count).reversed().first(where: { named[String(String.UnicodeScalarView(name[..<$0]))] != nil }) {
                out.append(contentsOf: named[String(String.UnicodeScalarView(name[..<x]))]!)
                out.append(contentsOf: name[x...])
            } else {
                out.append("&"); out.append(contentsOf: name)
            }
            i = j
        }
        return String(out)
    }

    /// A numeric reference's replacement; nil (too many digits for 32 bits) counts as out of range.
    static func numeric(_ n: UInt32?) -> [Unicode.Scalar] {
        guard let n, n <= 0x10FFFF, !(0xD800...0xDFFF).contains(n) else { return ["\u{FFFD}"] }
        if let r = replacedNumbers[n] { return r }
        if droppedNumbers.contains(n) { return [] }
        return [Unicode.Scalar(n)!]
    }
}
