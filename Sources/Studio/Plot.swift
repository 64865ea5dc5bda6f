// Terminal plots drawn into a Frame: braille line charts (2×4 dots per cell, several series, log-y,
// vertical markers) in the spirit of btop's graphs.
import Foundation
import Terminal

public struct Series {
    public var points: [(x: Double, y: Double)]
    public var color: RGB
    public init(_ points: [(x: Double, y: Double)], color: RGB) { self.points = points; self.color = color }
}

public enum Plot {
    /// Draws `series` in the rectangle; returns the y range used. Markers are x positions drawn as "┊".
    /// With `xLabel`, the last row is the x axis: the first and last x values and what x is.
    @discardableResult
    public static func braille(_ frame: inout Frame, row: Int, col: Int, rows allRows: Int, cols: Int, series: [Series], logY: Bool = false,
                               markers: [Double] = [], xLabel: String? = nil, theme: Theme) -> (Double, Double)? {
        let plotCols = cols - 8   // room for the y labels
        let rows = xLabel != nil && allRows >= 3 ? allRows - 1 : allRows
        guard rows >= 2, plotCols >= 4 else { return nil }
        func ty(_ y: Double) -> Double? { logY ? (y > 0 ? log10(y) : nil) : (y.isFinite ? y : nil) }
        let all = series.flatMap { $0.points }
        let xs = all.map(\.x), ys = all.compactMap { ty($0.y) }
        guard let x0 = xs.min(), let x1 = xs.max(), var y0 = ys.min(), var y1 = ys.max() else {
            frame.text("no data yet", row: row + rows / 2, col: col + max(0, cols / 2 - 5), style: theme.dimmed)
            return nil
        }
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        let (w, h) = (plotCols * 2, rows * 4)
        var dots = [[UInt8]](repeating: [UInt8](repeating: 0, count: plotCols), count: rows)
        var owner = [[Int]](repeating: [Int](repeating: -1, count: plotCols), count: rows)
        func px(_ x: Double) -> Int { x1 > x0 ? Int(((x - x0) / (x1 - x0) * Double(w - 1)).rounded()) : 0 }
        func py(_ y: Double) -> Int { h - 1 - Int(((y - y0) / (y1 - y0) * Double(h - 1)).rounded()) }
        let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        func set(_ x: Int, _ y: Int, _ s: Int) {
            guard x >= 0, x < w, y >= 0, y < h else { return }
            dots[y / 4][x / 2] |= bits[y % 4][x % 2]
            owner[y / 4][x / 2] = s
        }
        for (si, s) in series.enumerated() {
            var prev: (Int, Int)?
            for p in s.points {
                guard let yv = ty(p.y) else { prev = nil; continue }
                let cur = (px(p.x), py(yv))
                if let (a, b) = prev {
                    let n = max(abs(cur.0 - a), abs(cur.1 - b), 1)
                    for k in 0...n { set(a + (cur.0 - a) * k / n, b + (cur.1 - b) * k / n, si) }
                } else { set(cur.0, cur.1, si) }
                prev = cur
            }
        }
        for m in markers where m >= x0 && m <= x1 {
            let c = px(m) / 2
            for r in 0..<rows where dots[r][c] == 0 { frame[row + r, col + 8 + c] = Cell("┊", theme.dimmed) }
        }
        for r in 0..<rows { for c in 0..<plotCols where dots[r][c] != 0 {
            let s = owner[r][c] >= 0 ? series[owner[r][c]].color : theme.foreground
            frame[row + r, col + 8 + c] = Cell(Character(UnicodeScalar(0x2800 + UInt32(dots[r][c]))!), Style(fg: s, bg: theme.background))
        } }
        func label(_ v: Double) -> String {
            let value = logY ? pow(10, v) : v
            return abs(value) >= 1000 || (abs(value) < 0.01 && value != 0) ? String(format: "%.1e", value) : String(format: "%.3f", value)
        }
        frame.text(label(y1), row: row, col: col, style: theme.dimmed, width: 7)
        frame.text(label(y0), row: row + rows - 1, col: col, style: theme.dimmed, width: 7)
        if let xLabel, rows < allRows {
            func x(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.3g", v) }
            let (left, right) = (x(x0), x(x1))
            frame.text(left, row: row + rows, col: col + 8, style: theme.dimmed)
            frame.text(right, row: row + rows, col: col + cols - right.count, style: theme.dimmed)
            let room = plotCols - left.count - right.count - 4
            if room > 0 {
                let name = String(xLabel.prefix(room))
                frame.text(name, row: row + rows, col: col + 8 + (plotCols - name.count) / 2, style: theme.dimmed)
            }
        }
        return (y0, y1)
    }

    /// Exponential moving average (smoothing toggle of the Run screen).
    public static func ema(_ p: [(x: Double, y: Double)], alpha: Double = 0.1) -> [(x: Double, y: Double)] {
        var out: [(x: Double, y: Double)] = []
        var s: Double?
        for q in p { s = s.map { $0 + alpha * (q.y - $0) } ?? q.y; out.append((q.x, s!)) }
        return out
    }
}
