// The universal image fallback: each cell shows two vertically stacked pixels as "▀" with the upper
// pixel as foreground and the lower as background (docs/terminal.md). Images are resampled
// (nearest) to cols × 2·rows pixels.

public enum HalfBlocks {
    public static func render(_ image: ImageOverlay, into frame: inout Frame) {
        let (pw, ph) = (image.cols, image.rows * 2)
        guard pw > 0, ph > 0, image.width > 0, image.height > 0 else { return }
        // Keep the aspect ratio: pixels are square, a cell is 1 wide × 2 tall in this mapping.
        let scale = min(Double(pw) / Double(image.width), Double(ph) / Double(image.height))
        let (dw, dh) = (max(1, Int(Double(image.width) * scale)), max(1, Int(Double(image.height) * scale)))
        func px(_ x: Int, _ y: Int) -> RGB {
            let sx = min(image.width - 1, x * image.width / dw), sy = min(image.height - 1, y * image.height / dh)
            let k = (sy * image.width + sx) * 3
            return RGB(image.pixels[k], image.pixels[k + 1], image.pixels[k + 2])
        }
        for r in 0..<((dh + 1) / 2) {
            for c in 0..<dw {
                let top = px(c, 2 * r), bottom = 2 * r + 1 < dh ? px(c, 2 * r + 1) : top
                frame[image.row + r, image.col + c] = Cell("▀", Style(fg: top, bg: bottom))
            }
        }
    }
}
