// Themes are small TOML files in themes/ (`key = "#rrggbb"`, `colormap = "NAME"`): UI colours, plot
// colours for teacher/student/data, and the heatmap colormap. A broken file is reported by key (or
// line) and the default is used instead.
import Foundation
import Runs
import Terminal

public struct Theme: Equatable {
    public var name = "dark"
    public var background = RGB(0x10, 0x13, 0x18), foreground = RGB(0xd8, 0xde, 0xe9), dim = RGB(0x6b, 0x72, 0x80)
    public var accent = RGB(0x88, 0xc0, 0xd0)
    public var headerBg = RGB(0x1d, 0x25, 0x30), headerFg = RGB(0xec, 0xef, 0xf4)
    public var selectionBg = RGB(0x2e, 0x3b, 0x4e), selectionFg = RGB(0xff, 0xff, 0xff)
    public var statusBg = RGB(0x1d, 0x25, 0x30), statusFg = RGB(0xa3, 0xb1, 0xc6)
    public var ok = RGB(0xa3, 0xbe, 0x8c), warn = RGB(0xeb, 0xcb, 0x8b), error = RGB(0xbf, 0x61, 0x6a)
    public var teacher = RGB(0x81, 0xa1, 0xc1), student = RGB(0xd0, 0x87, 0x70), data = RGB(0xa3, 0xbe, 0x8c)
    public var colormap = "viridis"

    public init() {}

    public static let keys = ["background", "foreground", "dim", "accent", "header_bg", "header_fg", "selection_bg", "selection_fg",
                              "status_bg", "status_fg", "ok", "warn", "error", "teacher", "student", "data", "colormap"]

    /// Parses a theme file's text (TOML: `key = "#rrggbb"`, `colormap = "NAME"`); throws naming the
    /// key (or the line, for text that is not TOML) of the first problem.
    public static func parse(_ text: String, name: String) throws -> Theme {
        var t = Theme()
        t.name = name
        let table: [String: Any]
        do { table = try ConfigFile.parse(text, path: "theme \(name)") } catch { throw TerminalError.terminal("\(error)") }
        for (key, raw) in table.sorted(by: { $0.key < $1.key }) {
            func bad(_ why: String) -> TerminalError { .terminal("theme \(name): '\(key)': \(why)") }
            guard let value = raw as? String else { throw bad("must be a string, e.g. \(key) = \"#88c0d0\"") }
            if key == "colormap" {
                guard Colormap.names.contains(value) else { throw bad("unknown colormap '\(value)' (\(Colormap.names.joined(separator: ", ")))") }
                t.colormap = value
                continue
            }
            guard let c = RGB(hex: value) else { throw bad("'\(value)' is not a #rrggbb colour") }
            switch key {
            case "background": t.background = c
            case "foreground": t.foreground = c
            case "dim": t.dim = c
            case "accent": t.accent = c
            case "header_bg": t.headerBg = c
            case "header_fg": t.headerFg = c
            case "selection_bg": t.selectionBg = c
            case "selection_fg": t.selectionFg = c
            case "status_bg": t.statusBg = c
            case "status_fg": t.statusFg = c
            case "ok": t.ok = c
            case "warn": t.warn = c
            case "error": t.error = c
            case "teacher": t.teacher = c
            case "student": t.student = c
            case "data": t.data = c
            default: throw bad("unknown key (known: \(keys.joined(separator: ", ")))")
            }
        }
        return t
    }

    /// The themes/ folder from the working directory or near the binary.
    public static func folder() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/themes"]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 { candidates.append(url.path + "/themes"); url = url.deletingLastPathComponent() }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/dark.toml") }
    }

    public static func available() -> [String] {
        guard let dir = folder(), let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return ["dark"] }
        return names.filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Loads themes/NAME.toml; on any problem returns the default and the message.
    public static func load(_ name: String) -> (Theme, String?) {
        guard let dir = folder() else { return (Theme(), name == "dark" ? nil : "themes/ not found; using the built-in dark theme") }
        let path = dir + "/\(name).toml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return (Theme(), "no theme '\(name)' (available: \(available().joined(separator: ", "))); using dark")
        }
        do { return (try parse(text, name: name), nil) } catch { return (Theme(), "\(error); using dark") }
    }

    // Styles used by the renderers.
    public var body: Style { Style(fg: foreground, bg: background) }
    public var dimmed: Style { Style(fg: dim, bg: background) }
    public var header: Style { Style(fg: headerFg, bg: headerBg, bold: true) }
    public var selected: Style { Style(fg: selectionFg, bg: selectionBg, bold: true) }
    public var status: Style { Style(fg: statusFg, bg: statusBg) }
    public func colored(_ c: RGB, bold: Bool = false) -> Style { Style(fg: c, bg: background, bold: bold) }
}

/// Heatmap colormaps (a few anchor points, interpolated).
public enum Colormap {
    public static let names = ["viridis", "magma", "gray"]

    public static func color(_ name: String, _ t: Double) -> RGB {
        let x = max(0, min(1, t.isFinite ? t : 0))
        let anchors: [RGB]
        switch name {
        case "magma": anchors = [RGB(0, 0, 4), RGB(81, 18, 124), RGB(183, 55, 121), RGB(252, 137, 97), RGB(252, 253, 191)]
        case "gray": anchors = [RGB(0, 0, 0), RGB(255, 255, 255)]
        default: anchors = [RGB(68, 1, 84), RGB(59, 82, 139), RGB(33, 145, 140), RGB(94, 201, 98), RGB(253, 231, 37)]
        }
        let p = x * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(p))
        return RGB.mix(anchors[i], anchors[i + 1], p - Double(i))
    }
}
