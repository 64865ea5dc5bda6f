// Typed TOML configs: parsed by TOMLKit (toml++), then decoded strictly — an unknown key, a wrong
// type or an out-of-range value is an error naming the file, the key and what is allowed. Every
// field has a default, so a config lists only what it changes.
import Foundation
import TOMLKit

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var key: String
    public var message: String
    public init(_ path: String, _ key: String, _ message: String) { self.path = path; self.key = key; self.message = message }
    public var description: String { "\(path): '\(key)': \(message)" }
}

/// A section or whole config decoded from a TOML table with checks.
public protocol ConfigSection: Codable {
    init()
    /// Keys this section accepts (the TOML names).
    static var keys: [String] { get }
    /// Range checks; `key` prefixes messages ("train.lr").
    func validate(path: String, prefix: String) throws
    /// The values a string key may take (the TOML name → the choices), for keys whose type is a set
    /// of names; a value outside them is refused naming the choices.
    static var choices: [String: [String]] { get }
}

extension ConfigSection {
    public static var choices: [String: [String]] { [:] }
}

/// A config value that is one of a few names (`method = "gpd"`): the names are the raw values.
public protocol ConfigChoice: RawRepresentable, Codable, CaseIterable where RawValue == String {}

extension ConfigChoice {
    public static var names: [String] { allCases.map(\.rawValue) }
}

public enum ConfigFile {
    /// The TOML document at `path` as a JSON-like dictionary.
    /// The TOML document at `path` as a JSON-like dictionary, with `overrides` ("section.key=value",
    /// the value in TOML syntax; a bare word is a string) applied on top.
    public static func read(_ path: String, overrides: [String] = []) throws -> [String: Any] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigError(path, "(file)", "cannot read the file") }
        var table = try parse(text, path: path)
        for o in overrides { try apply(o, to: &table, path: path) }
        return table
    }

    /// Sets one "a.b=value" override in `table` (unknown keys are refused later, by the decoder).
    static func apply(_ override: String, to table: inout [String: Any], path: String) throws {
        guard let eq = override.firstIndex(of: "=") else { throw ConfigError(path, override, "an override is section.key=value") }
        let key = override[..<eq].trimmingCharacters(in: .whitespaces)
        let raw = override[override.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        let parts = key.split(separator: ".").map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }), !raw.isEmpty else { throw ConfigError(path, override, "an override is section.key=value") }
        let value: Any = (try? parse("v = \(raw)", path: path))?["v"] ?? raw
        func set(_ t: inout [String: Any], _ i: Int) throws {
            if i == parts.count - 1 { t[parts[i]] = value; return }
            var sub: [String: Any]
            if let existing = t[parts[i]] {
                guard let s = existing as? [String: Any] else { throw ConfigError(path, parts[...i].joined(separator: "."), "is not a section") }
                sub = s
            } else { sub = [:] }
            try set(&sub, i + 1)
            t[parts[i]] = sub
        }
        try set(&table, 0)
    }

    public static func parse(_ text: String, path: String) throws -> [String: Any] {
        try checkTableHeaders(text, path: path)
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigError(path, "(line \(e.source.begin.line))", "not valid TOML: \(e.description)")
        }
        let json = table.convert(to: .json)
        guard let data = json.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError(path, "(document)", "could not be read as a table")
        }
        return object
    }

    /// Refuses a table header (`[name]`, `[[name]]`) that does not close on its own line, as TOML
    /// requires. The TOML library's parser stops on an internal assertion for a header broken by a
    /// newline (`[` then `train]` on the next line) in debug builds, so such text never reaches it.
    /// Strings, comments and multi-line arrays are skipped: only a `[` that begins a line outside
    /// them opens a header.
    static func checkTableHeaders(_ text: String, path: String) throws {
        let chars = Array(text.unicodeScalars)
        var i = 0, line = 1, depth = 0, lineStart = true
        func at(_ c: Unicode.Scalar, times n: Int) -> Bool {
            i + n <= chars.count && chars[i..<(i + n)].allSatisfy { $0 == c }
        }
        while i < chars.count {
            let c = chars[i]
            if c == "\n" { line += 1; lineStart = true; i += 1; continue }
            if c == " " || c == "\t" || c == "\r" { i += 1; continue }
            if c == "#" { while i < chars.count && chars[i] != "\n" { i += 1 }; continue }
            if (c == "\"" || c == "'") && at(c, times: 3) {   // a multi-line string, to its closing delimiter
                i += 3
                while i < chars.count && !at(c, times: 3) {
                    if chars[i] == "\n" { line += 1 }
                    i += chars[i] == "\\" && c == "\"" ? 2 : 1
                }
                i += 3; lineStart = false; continue
            }
            if c == "\"" || c == "'" {   // a one-line string
                i += 1
                while i < chars.count && chars[i] != c && chars[i] != "\n" { i += chars[i] == "\\" && c == "\"" ? 2 : 1 }
                i += 1; lineStart = false; continue
            }
            if c == "[" && depth == 0 && lineStart {
                var j = i
                while j < chars.count && chars[j] != "]" && chars[j] != "\n" { j += 1 }
                guard j < chars.count, chars[j] == "]" else {
                    throw ConfigError(path, "(line \(line))", "not valid TOML: a table header must close with ']' on its own line")
                }
                i = j + 1; lineStart = false; continue
            }
            if c == "[" || c == "{" { depth += 1 } else if c == "]" || c == "}" { depth = max(0, depth - 1) }
            lineStart = false
            i += 1
        }
    }

    /// Decodes `section` (a table) into T, refusing keys T does not know.
    public static func decode<T: ConfigSection>(_ type: T.Type, from table: [String: Any]?, path: String, prefix: String) throws -> T {
        guard let table else { let v = T(); try v.validate(path: path, prefix: prefix); return v }
        for key in table.keys.sorted() where !T.keys.contains(key) {
            let known = T.keys.sorted().joined(separator: ", ")
            throw ConfigError(path, prefix.isEmpty ? key : "\(prefix).\(key)", "unknown key (known: \(known))")
        }
        // Merge over the defaults so missing keys keep them.
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(T())) as? [String: Any] ?? [:]
        let merged = defaults.merging(table) { _, new in new }
        // A value the section's type cannot hold is named with what it must be, before decoding (the
        // decoder's own messages do not name the key for numbers that do not fit).
        for key in table.keys.sorted() {
            if let allowed = T.choices[key], let name = table[key] as? String, !allowed.contains(name) {
                throw ConfigError(path, prefix.isEmpty ? key : "\(prefix).\(key)",
                                  "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(name)\"")
            }
            let trial = defaults.merging([key: table[key]!]) { _, new in new }
            guard let data = try? JSONSerialization.data(withJSONObject: trial), (try? JSONDecoder().decode(T.self, from: data)) == nil else { continue }
            throw ConfigError(path, prefix.isEmpty ? key : "\(prefix).\(key)", expectation(value: table[key]!, default: defaults[key]))
        }
        do {
            let value = try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: merged))
            try value.validate(path: path, prefix: prefix)
            return value
        } catch let DecodingError.typeMismatch(expected, ctx) {
            let key = ([prefix] + ctx.codingPath.map(\.stringValue)).filter { !$0.isEmpty }.joined(separator: ".")
            throw ConfigError(path, key, "wrong type (expected \(expected))")
        } catch let DecodingError.dataCorrupted(ctx) {
            let key = ([prefix] + ctx.codingPath.map(\.stringValue)).filter { !$0.isEmpty }.joined(separator: ".")
            throw ConfigError(path, key, ctx.debugDescription)
        }
    }

    /// Requires these sections as tables: a config without them would run entirely on defaults, which
    /// is never what an empty or truncated file meant.
    /// The `optional` sections, where present, must be tables too (`--set train=1` must not silently
    /// replace a whole section with defaults).
    public static func requireSections(_ names: [String], optional: [String] = [], in table: [String: Any], path: String) throws {
        for name in names where table[name] == nil { throw ConfigError(path, name, "missing section [\(name)] (an empty file is not a config)") }
        for name in names + optional {
            if let value = table[name], !(value is [String: Any]) { throw ConfigError(path, name, "must be a section [\(name)], not a value") }
        }
    }

    /// What a key must hold, judged from its default: a finite number, a whole number (≥ 0 where the
    /// default is), a string, a list of the default's kind.
    static func expectation(value: Any, default def: Any?) -> String {
        let shown = "\(value)"
        if let text = value as? String, ["nan", "inf", "+inf", "-inf"].contains(text.lowercased()) { return "must be a finite number, got \(text)" }
        if let n = value as? NSNumber, !n.doubleValue.isFinite { return "must be a finite number, got \(shown)" }
        switch def {
        case let d as NSNumber where !(value is String):
            let whole = d.doubleValue == d.doubleValue.rounded() && !"\(d)".contains(".") && !"\(d)".contains("e")
            if whole, let n = value as? NSNumber {
                if n.doubleValue != n.doubleValue.rounded() { return "must be a whole number, got \(shown)" }
                if n.doubleValue < 0 { return "must be a whole number ≥ 0, got \(shown)" }
                return "must be a whole number that fits, got \(shown)"
            }
            return "must be a number, got \(shown)"
        case is NSNumber: return "must be a number, got \"\(shown)\""
        case is String: return "must be a string in quotes, got \(shown)"
        case is [Any]: return "must be a list like \(def.map { "\($0)" } ?? "[…]"), got \(shown)"
        default: return "has the wrong type (got \(shown))"
        }
    }

    /// Refuses top-level keys outside `allowed`.
    public static func checkTopLevel(_ table: [String: Any], allowed: [String], path: String) throws {
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw ConfigError(path, key, "unknown key or section (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// A range check helper for `validate`.
    public static func require(_ ok: Bool, _ path: String, _ key: String, _ message: String) throws {
        if !ok { throw ConfigError(path, key, message) }
    }

    /// The resolved config as TOML text (what a run folder stores).
    public static func toml(_ sections: [(String, Encodable)], top: [String: String] = [:]) throws -> String {
        let table = TOMLTable()
        for (k, v) in top { table[k] = v }
        for (name, section) in sections { table[name] = try TOMLEncoder().encode(AnyEncodable(section)) as TOMLTable }
        return shortestFloats(table.convert(to: .toml)) + "\n"
    }

    /// toml++ writes floats with 17 significant digits (0.40000000000000002); this rewrites every
    /// float outside a string in its shortest form that reads back to the same Double (0.4).
    public static func shortestFloats(_ text: String) -> String {
        var out = "", token = ""
        var quote: Character? = nil
        func flush() {
            if token.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let v = Double(token), v.isFinite {
                var short = "\(v)"
                if !short.contains(".") && !short.contains("e") { short += ".0" }
                out += short
            } else { out += token }
            token = ""
        }
        for c in text {
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
            } else if c.isNumber || "+-.eE_".contains(c) && !token.isEmpty || c == "-" {
                token.append(c)
            } else {
                flush()
                if c == "'" || c == "\"" { quote = c }
                out.append(c)
            }
        }
        flush()
        return out
    }
}

struct AnyEncodable: Encodable {
    let value: Encodable
    init(_ v: Encodable) { value = v }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
