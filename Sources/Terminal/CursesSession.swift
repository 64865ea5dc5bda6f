// The one place that calls ncurses (every call on the UI thread). It draws a Frame: cells through
// curses (colour pairs allocated per (fg, bg), truecolour on *-direct terminals, the 256-colour cube
// otherwise, attributes only without colour), then image overlays as sixel written after refresh()
// inside save/restore cursor — or as half blocks in the cells when the terminal has no sixel.
// Images never reach the last row; when one goes or moves, its rows are repainted (wredrawln).
import CNcursesw
import Foundation

public enum Key: Equatable {
    case char(Character)
    case ctrl(Character)
    case up, down, left, right, enter, backspace, delete, escape, tab, backTab
    case pageUp, pageDown, home, end
    case function(Int)
    case resize
    case mouse(row: Int, col: Int, button: Int)
}

public final class CursesSession {
    public let graphics: GraphicsMode
    public let capabilities: Capabilities
    public private(set) var colors: Int = 0
    private var pairs: [Int64: Int32] = [:]
    private var shownImages: [Shown] = []
    private struct Shown: Equatable { var row: Int, rows: Int, col: Int, cols: Int, version: Int }
    private var open = false

    public init(graphics: GraphicsMode, capabilities: Capabilities) {
        self.graphics = graphics
        self.capabilities = capabilities
        setlocale(LC_ALL, "")
        initscr()
        open = true
        cbreak(); noecho()
        keypad(gpd_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        if has_colors() {
            start_color()
            use_default_colors()
            colors = Int(gpd_colors())
        }
        mousemask(gpd_ALL_MOUSE_EVENTS(), nil)
        mouseinterval(0)
    }

    deinit { close() }

    public func close() {
        guard open else { return }
        open = false
        endwin()
    }

    public var size: (rows: Int, cols: Int) { (Int(gpd_lines()), Int(gpd_cols())) }

    /// Waits up to `milliseconds` for a key.
    public func readKey(milliseconds: Int32) -> Key? {
        timeout(milliseconds)
        var wc: wint_t = 0
        let r = get_wch(&wc)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(wc) {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case KEY_DC: return .delete
            case KEY_BTAB: return .backTab
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_RESIZE: return .resize
            case KEY_MOUSE:
                var ev = MEVENT()
                guard getmouse(&ev) == OK else { return nil }
                let button = ev.bstate & gpd_BUTTON4_PRESSED() != 0 ? 4 : ev.bstate & gpd_BUTTON5_PRESSED() != 0 ? 5
                    : ev.bstate & gpd_BUTTON1_CLICKED() != 0 ? 1 : 0
                return .mouse(row: Int(ev.y), col: Int(ev.x), button: button)
            default:
                let code = Int32(wc)
                if code >= KEY_F0 && code < KEY_F0 + 64 { return .function(Int(code - KEY_F0)) }
                return nil
            }
        }
        switch wc {
        case 10, 13: return .enter
        case 9: return .tab
        case 27: return .escape
        case 127, 8: return .backspace
        case 1...26: return .ctrl(Character(UnicodeScalar(UInt8(wc) + 96)))
        default:
            guard let s = UnicodeScalar(UInt32(wc)) else { return nil }
            return .char(Character(s))
        }
    }

    // MARK: colours

    func colorNumber(_ c: RGB?) -> Int32 {
        guard let c else { return -1 }
        if colors >= 0x100_0000 { return Int32(c.r) << 16 | Int32(c.g) << 8 | Int32(c.b) }
        if colors >= 256 { return Int32(Self.xterm256(c)) }
        if colors >= 8 { return Int32(Self.basic8(c)) }
        return -1
    }

    /// The nearest entry of xterm's 6×6×6 cube or grey ramp.
    public static func xterm256(_ c: RGB) -> Int {
        func level(_ v: UInt8) -> Int { v < 48 ? 0 : v < 115 ? 1 : (Int(v) - 35) / 40 }
        let (r, g, b) = (level(c.r), level(c.g), level(c.b))
        let steps = [0, 95, 135, 175, 215, 255]
        let cube = 16 + 36 * r + 6 * g + b
        let cubeErr = sq(steps[r] - Int(c.r)) + sq(steps[g] - Int(c.g)) + sq(steps[b] - Int(c.b))
        let grey = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let gi = max(0, min(23, (grey - 8 + 5) / 10)), gv = 8 + 10 * gi
        let greyErr = sq(gv - Int(c.r)) + sq(gv - Int(c.g)) + sq(gv - Int(c.b))
        return greyErr < cubeErr ? 232 + gi : cube
    }

    static func basic8(_ c: RGB) -> Int {
        (c.r > 127 ? 1 : 0) | (c.g > 127 ? 2 : 0) | (c.b > 127 ? 4 : 0)
    }

    static func sq(_ x: Int) -> Int { x * x }

    func pair(_ s: Style) -> Int32 {
        let fg = colorNumber(s.fg), bg = colorNumber(s.bg)
        if fg == -1 && bg == -1 { return 0 }
        let key = Int64(fg) << 32 | Int64(UInt32(bitPattern: bg))
        if let p = pairs[key] { return p }
        let p = alloc_pair(fg, bg)
        pairs[key] = p < 0 ? 0 : p
        return pairs[key]!
    }

    // MARK: drawing

    public func draw(_ frame: Frame) {
        var f = frame
        let lastRow = size.rows - 1
        // Images stop above the last row (a sixel reaching it scrolls the screen).
        f.images = f.images.compactMap { img in
            var i = img
            i.rows = min(i.rows, lastRow - i.row)
            return i.rows > 0 ? i : nil
        }
        if graphics == .blocks { for img in f.images { HalfBlocks.render(img, into: &f) } }
        erase()
        for r in 0..<f.rows {
            var c = 0
            while c < f.cols {
                // Runs of one style are written together.
                let style = f[r, c].style
                var s = ""
                var e = c
                while e < f.cols && f[r, e].style == style { s.append(f[r, e].char); e += 1 }
                var a = gpd_A_NORMAL()
                if style.bold { a |= gpd_A_BOLD() }
                if style.reverse || (colors == 0 && style.bg != nil) { a |= gpd_A_REVERSE() }
                if style.underline { a |= gpd_A_UNDERLINE() }
                _ = gpd_mvaddstr_pair(Int32(r), Int32(c), s, a, pair(style))
                c = e
            }
        }
        if let cur = f.cursor { curs_set(1); move(Int32(cur.row), Int32(cur.col)) } else { curs_set(0) }
        // Rows of images that went away or moved are repainted so their pixels are wiped; an image shown
        // unchanged at the same place is not sent again (the blank cells under it are not repainted).
        let now = f.images.map { Shown(row: $0.row, rows: $0.rows, col: $0.col, cols: $0.cols, version: $0.version) }
        if graphics == .sixel {
            for old in shownImages where !now.contains(where: { $0.row == old.row && $0.rows == old.rows && $0.col == old.col && $0.cols == old.cols }) {
                wredrawln(gpd_stdscr(), Int32(old.row), Int32(old.rows))
            }
        }
        // A frame that sends images is one synchronized update (DEC mode 2026): terminals that know
        // it show the cells and the new images together, never a half-drawn frame during playback;
        // the others ignore the unknown mode.
        let sending = graphics == .sixel && zip(f.images, now).contains { !shownImages.contains($0.1) }
        if sending { writeAll(Data("\u{1B}[?2026h".utf8)) }
        refresh()
        if graphics == .sixel {
            for (img, shown) in zip(f.images, now) where !shownImages.contains(shown) { emitSixel(img) }
            shownImages = now
        }
        if sending { writeAll(Data("\u{1B}[?2026l".utf8)) }
    }

    /// Writes bytes straight to the terminal (after curses has flushed its own output).
    func writeAll(_ data: Data) {
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(1, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { if errno == EINTR { continue }; break }
                done += n
            }
        }
    }

    /// Forces a full repaint (Ctrl-L, resize): curses repaints everything, images are re-emitted.
    public func invalidate() {
        clearok(gpd_curscr(), true)
        shownImages = []
    }

    /// The palette of the clip on screen (rebuilt when an image with another palette key comes).
    var palette: SixelPalette?

    /// Writes the image's sixel at its cell, scaled to its rectangle in pixels, inside save/restore.
    func emitSixel(_ img: ImageOverlay) {
        let (cw, ch) = (capabilities.cellWidth, capabilities.cellHeight)
        let maxW = img.cols * cw, maxH = img.rows * ch
        let scale = min(Double(maxW) / Double(img.width), Double(maxH) / Double(img.height))
        let (w, h) = (max(1, Int(Double(img.width) * scale)), max(1, Int(Double(img.height) * scale)))
        var scaled = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w {
            let sx = min(img.width - 1, x * img.width / w), sy = min(img.height - 1, y * img.height / h)
            let s = (sy * img.width + sx) * 3, d = (y * w + x) * 3
            scaled[d] = img.pixels[s]; scaled[d + 1] = img.pixels[s + 1]; scaled[d + 2] = img.pixels[s + 2]
        } }
        if img.paletteKey == nil || palette?.key != img.paletteKey {
            palette = try? SixelPalette(width: w, height: h, rgb: scaled, key: img.paletteKey ?? Int.min)
        }
        guard let p = palette, let six = try? Sixel.encode(width: w, height: h, rgb: scaled, palette: p) else { return }
        var out = Data("\u{1B}7\u{1B}[\(img.row + 1);\(img.col + 1)H".utf8)
        out.append(six)
        out.append(Data("\u{1B}8".utf8))
        writeAll(out)
    }
}
