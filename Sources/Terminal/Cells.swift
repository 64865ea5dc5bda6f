// The terminal-independent picture of a screen: a grid of cells (one character each, with a style)
// plus image overlays placed on cell rectangles. Render functions produce a Frame; the curses session
// draws it; tests read it as text. Nothing here knows ncurses or diffusion.

public struct RGB: Equatable, Hashable, Codable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// From "#rrggbb".
    public init?(hex: String) {
        var s = hex.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("#") { s.removeFirst() }
        guard s.count == 6, let v = UInt32(s, radix: 16) else { return nil }
        self.init(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
    }

    /// Linear blend a → b by t in [0, 1].
    public static func mix(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
        func m(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8(max(0, min(255, (Double(x) + (Double(y) - Double(x)) * t).rounded()))) }
        return RGB(m(a.r, b.r), m(a.g, b.g), m(a.b, b.b))
    }
}

public struct Style: Equatable, Hashable {
    public var fg: RGB?
    public var bg: RGB?
    public var bold = false
    public var reverse = false
    public var underline = false
    public init(fg: RGB? = nil, bg: RGB? = nil, bold: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.fg = fg; self.bg = bg; self.bold = bold; self.reverse = reverse; self.underline = underline
    }
}

public struct Cell: Equatable {
    /// One grapheme that takes one column (wide characters are not used by the studio's renderers).
    public var char: Character
    public var style: Style
    public init(_ char: Character = " ", _ style: Style = Style()) { self.char = char; self.style = style }
}

/// An RGB image drawn over a cell rectangle: as sixel pixels where the terminal can, as half blocks
/// in the cells otherwise.
public struct ImageOverlay: Equatable {
    public var row: Int, col: Int, rows: Int, cols: Int
    public var width: Int, height: Int
    /// width·height·3 bytes, row-major RGB.
    public var pixels: [UInt8]
    /// Changes whenever the pixels do (lets the session skip re-encoding an unchanged image).
    public var version: Int
    /// Images with the same palette key (the frames of one clip) share one sixel palette; nil: each
    /// image gets its own.
    public var paletteKey: Int?

    public init(row: Int, col: Int, rows: Int, cols: Int, width: Int, height: Int, pixels: [UInt8], version: Int, paletteKey: Int? = nil) {
        (self.row, self.col, self.rows, self.cols, self.width, self.height, self.pixels, self.version) = (row, col, rows, cols, width, height, pixels, version)
        self.paletteKey = paletteKey
    }
}

public struct Frame: Equatable {
    public let rows: Int, cols: Int
    public private(set) var cells: [Cell]
    public var images: [ImageOverlay] = []
    /// Where the text cursor should sit (an input field), if visible.
    public var cursor: (row: Int, col: Int)?

    public init(rows: Int, cols: Int, fill: Style = Style()) {
        self.rows = max(rows, 0); self.cols = max(cols, 0)
        cells = [Cell](repeating: Cell(" ", fill), count: self.rows * self.cols)
    }

    public static func == (a: Frame, b: Frame) -> Bool {
        a.rows == b.rows && a.cols == b.cols && a.cells == b.cells && a.images == b.images && a.cursor?.row == b.cursor?.row && a.cursor?.col == b.cursor?.col
    }

    public subscript(row: Int, col: Int) -> Cell {
        get { cells[row * cols + col] }
        set { if row >= 0, row < rows, col >= 0, col < cols { cells[row * cols + col] = newValue } }
    }

    /// Writes text from (row, col), clipped to the frame and to `width` columns; returns columns used.
    @discardableResult
    public mutating func text(_ s: String, row: Int, col: Int, style: Style = Style(), width: Int? = nil) -> Int {
        guard row >= 0, row < rows else { return 0 }
        let limit = min(cols, col + (width ?? cols))
        // Text that does not fit ends in an ellipsis, so a cut is visible.
        let room = limit - col
        let cut = room > 1 && s.count > room
        var c = col
        for ch in cut ? Array(s.prefix(room - 1)) + ["…"] : Array(s) {
            if c >= limit { break }
            let printable: Character = ch.isNewline || ch == "\t" ? " " : ch
            if c >= 0 { self[row, c] = Cell(printable, style) }
            c += 1
        }
        return max(0, c - col)
    }

    public mutating func fill(row: Int, col: Int, rows h: Int, cols w: Int, style: Style, char: Character = " ") {
        for r in max(0, row)..<min(rows, row + h) { for c in max(0, col)..<min(cols, col + w) { self[r, c] = Cell(char, style) } }
    }

    /// The frame as plain text lines (tests, snapshots).
    public var lines: [String] {
        (0..<rows).map { r in String((0..<cols).map { cells[r * cols + $0].char }) }
    }
}

import Foundation
