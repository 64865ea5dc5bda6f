// What the terminal can show, asked before curses starts (docs/terminal.md): DA1
// (parameter 4 = sixel), the cell size in pixels (CSI 16 t, else TIOCGWINSZ), with CSI 5 n (device
// status) as the sentinel every terminal answers, so the read ends early; one second at most.
import Foundation

public enum GraphicsMode: String, CaseIterable, Codable {
    case sixel, blocks, none
}

public struct Capabilities: Equatable {
    public var sixel = false
    public var cellWidth = 10, cellHeight = 20
    public var truecolor = false
    /// What the probe saw (for `gpd studio --probe` and bug reports).
    public var replies = ""

    public init() {}

    public var graphics: GraphicsMode { sixel ? .sixel : .blocks }

    /// Asks the terminal on /dev/tty; returns defaults when there is none (pipes, CI).
    public static func probe(timeout: Double = 1.0) -> Capabilities {
        var caps = Capabilities()
        let env = ProcessInfo.processInfo.environment
        caps.truecolor = env["COLORTERM"] == "truecolor" || env["COLORTERM"] == "24bit"
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0, isatty(fd) != 0 else { return caps }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return caps }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(fd, TCSANOW, &raw)
        defer { tcsetattr(fd, TCSANOW, &saved) }
        let query = "\u{1B}[c\u{1B}[16t\u{1B}[5n"
        _ = query.withCString { write(fd, $0, strlen($0)) }
        var reply = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 256)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&p, 1, ms) > 0 else { break }
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            reply += buf[0..<n]
            if let s = String(bytes: reply, encoding: .utf8), s.range(of: "\u{1B}\\[[0-9]*n", options: .regularExpression) != nil { break }
        }
        let text = String(decoding: reply, as: UTF8.self)
        caps.replies = text.replacingOccurrences(of: "\u{1B}", with: "ESC")
        caps.parse(text)
        if caps.cellWidth <= 0 || caps.cellHeight <= 0 || !text.contains("[6;") {
            var ws = winsize()
            if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0, ws.ws_xpixel > 0, ws.ws_ypixel > 0 {
                caps.cellWidth = Int(ws.ws_xpixel) / Int(ws.ws_col)
                caps.cellHeight = Int(ws.ws_ypixel) / Int(ws.ws_row)
            }
        }
        return caps
    }

    /// Reads DA1 (`ESC[?…;4;…c`) and the cell size (`ESC[6;H;Wt`) out of the replies.
    public mutating func parse(_ text: String) {
        if let r = text.range(of: "\u{1B}\\[\\?[0-9;]*c", options: .regularExpression) {
            let params = text[r].dropFirst(3).dropLast().split(separator: ";").map(String.init)
            sixel = params.contains("4")
        }
        if let r = text.range(of: "\u{1B}\\[6;[0-9]+;[0-9]+t", options: .regularExpression) {
            let p = text[r].dropFirst(2).dropLast().split(separator: ";").compactMap { Int($0) }
            if p.count == 3, p[1] > 0, p[2] > 0 { cellHeight = p[1]; cellWidth = p[2] }
        }
    }
}
