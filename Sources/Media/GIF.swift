// Animated GIF writing: one global palette per clip (the 256 most used colours at 5 bits per
// channel, every pixel mapped to its nearest), LZW-compressed frames, looping.
import Foundation

public enum GIF {
    /// frames: F images of W·H·3 bytes; delay in hundredths of a second; `scale` repeats pixels.
    public static func encode(width: Int, height: Int, frames: [[UInt8]], delay: Int = 8, scale: Int = 1) -> Data {
        let (w, h) = (width * scale, height * scale)
        let (palette, lookup) = buildPalette(frames)
        var d = Data("GIF89a".utf8)
        d.append(le16(w)); d.append(le16(h))
        d.append(contentsOf: [0xF7, 0, 0])    // global colour table of 256 entries
        for c in palette { d.append(contentsOf: [c.0, c.1, c.2]) }
        for _ in palette.count..<256 { d.append(contentsOf: [0, 0, 0]) }
        d.append(contentsOf: [0x21, 0xFF, 0x0B] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0])   // loop forever
        for frame in frames {
            d.append(contentsOf: [0x21, 0xF9, 4, 0]); d.append(le16(delay)); d.append(contentsOf: [0, 0])
            d.append(0x2C); d.append(le16(0)); d.append(le16(0)); d.append(le16(w)); d.append(le16(h)); d.append(0)
            var indices = [UInt8](repeating: 0, count: w * h)
            for y in 0..<h { for x in 0..<w {
                let k = ((y / scale) * width + x / scale) * 3
                indices[y * w + x] = lookup[key(frame[k], frame[k + 1], frame[k + 2])]
            } }
            d.append(8)   // LZW minimum code size
            let lzw = compress(indices)
            var i = 0
            while i < lzw.count { let n = min(255, lzw.count - i); d.append(UInt8(n)); d.append(contentsOf: lzw[i..<(i + n)]); i += n }
            d.append(0)
        }
        d.append(0x3B)
        return d
    }

    static func le16(_ v: Int) -> Data { Data([UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)]) }
    static func key(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int { Int(r >> 3) << 10 | Int(g >> 3) << 5 | Int(b >> 3) }

    /// The most frequent 5-bit colours (at most 256) and a 32768-entry map to the nearest of them.
    static func buildPalette(_ frames: [[UInt8]]) -> ([(UInt8, UInt8, UInt8)], [UInt8]) {
        var counts = [Int](repeating: 0, count: 32768)
        for f in frames { var i = 0; while i < f.count { counts[key(f[i], f[i + 1], f[i + 2])] += 1; i += 3 } }
        let used = counts.indices.filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] }.prefix(256)
        func rgb(_ k: Int) -> (UInt8, UInt8, UInt8) {
            (UInt8((k >> 10 & 31) << 3 | 4), UInt8((k >> 5 & 31) << 3 | 4), UInt8((k & 31) << 3 | 4))
        }
        let palette = used.map(rgb)
        var lookup = [UInt8](repeating: 0, count: 32768)
        for k in counts.indices where counts[k] > 0 {
            let c = rgb(k)
            var best = 0, bestD = Int.max
            for (i, p) in palette.enumerated() {
                let d = (Int(c.0) - Int(p.0)) * (Int(c.0) - Int(p.0)) + (Int(c.1) - Int(p.1)) * (Int(c.1) - Int(p.1)) + (Int(c.2) - Int(p.2)) * (Int(c.2) - Int(p.2))
                if d < bestD { bestD = d; best = i }
            }
            lookup[k] = UInt8(best)
        }
        return (palette.isEmpty ? [(0, 0, 0)] : palette, lookup)
    }

    /// GIF LZW with 8-bit symbols: clear = 256, end = 257, codes up to 12 bits, reset when full.
    static func compress(_ symbols: [UInt8]) -> [UInt8] {
        var out = [UInt8](), bitBuffer = 0, bitCount = 0
        var codeSize = 9
        func emit(_ code: Int) {
            bitBuffer |= code << bitCount; bitCount += codeSize
            while bitCount >= 8 { out.append(UInt8(bitBuffer & 0xFF)); bitBuffer >>= 8; bitCount -= 8 }
        }
        var table: [Int: Int] = [:]
        var next = 258
        emit(256)
        var prefix = -1
        for s in symbols {
            let sym = Int(s)
            if prefix < 0 { prefix = sym; continue }
            let k = prefix << 8 | sym
            if let code = table[k] { prefix = code; continue }
            emit(prefix)
            if next < 4096 {
                table[k] = next
                next += 1
                if next > (1 << codeSize) && codeSize < 12 { codeSize += 1 }
            } else {
                emit(256); table.removeAll(keepingCapacity: true); next = 258; codeSize = 9
            }
            prefix = sym
        }
        if prefix >= 0 { emit(prefix) }
        emit(257)
        if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
        return out
    }
}
