// Text from files and arguments (run names, captions, event details, log lines, paths) on its way to
// a terminal: every character a terminal would act on is shown as text instead, so an imported run
// history or a crafted caption cannot retitle a window, move the cursor or clear the screen.
public enum SafeText {
    /// `text` with C0 controls (newline and tab excepted) as ^X (ESC as ^[), DEL as ^?, and the C1
    /// controls U+0080–U+009F (which some terminals read as ESC sequences) as <U+009B>.
    public static func sanitize(_ text: String, keepNewlines: Bool = true) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepNewlines: keepNewlines) }) else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            guard needsEscape(u, keepNewlines: keepNewlines) else { out.append(u); continue }
            let v = u.value
            let shown = v < 0x20 ? "^" + String(UnicodeScalar(UInt8(v + 0x40))) : v == 0x7F ? "^?" : "<U+" + String(format04X(v)) + ">"
            out.append(contentsOf: shown.unicodeScalars)
        }
        return String(out)
    }

    static func needsEscape(_ u: Unicode.Scalar, keepNewlines: Bool) -> Bool {
        let v = u.value
        if keepNewlines && (v == 0x0A || v == 0x09) { return false }
        return v < 0x20 || (v >= 0x7F && v <= 0x9F)
    }

    static func format04X(_ v: UInt32) -> String {
        let hex = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
