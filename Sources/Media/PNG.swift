// PNG writing (RGB, 8 bits) with zlib "stored" (uncompressed) deflate blocks: valid everywhere, no
// compression library needed; sizes stay small at this project's frame sizes.
import Foundation

public enum PNG {
    /// rgb: H·W·3 bytes, row-major.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> Data {
        precondition(rgb.count == width * height * 3, "PNG.encode: \(rgb.count) bytes for \(width)×\(height) RGB")
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + width * 3))
        for y in 0..<height {
            raw.append(0)   // filter: none
            raw.append(contentsOf: rgb[(y * width * 3)..<((y + 1) * width * 3)])
        }
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Data()
        ihdr.append(be32(width)); ihdr.append(be32(height))
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])   // 8-bit, truecolour, deflate, no filter, no interlace
        out.append(chunk("IHDR", ihdr))
        out.append(chunk("IDAT", zlibStored(raw)))
        out.append(chunk("IEND", Data()))
        return out
    }

    static func be32(_ v: Int) -> Data { Data([UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]) }

    static func chunk(_ type: String, _ body: Data) -> Data {
        var d = be32(body.count)
        let typed = Data(type.utf8) + body
        d.append(typed)
        d.append(be32(Int(crc32(typed))))
        return d
    }

    static func zlibStored(_ bytes: [UInt8]) -> Data {
        var d = Data([0x78, 0x01])
        var i = 0
        repeat {
            let n = min(65535, bytes.count - i)
            let last: UInt8 = i + n >= bytes.count ? 1 : 0
            d.append(contentsOf: [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)])
            d.append(contentsOf: bytes[i..<(i + n)])
            i += n
        } while i < bytes.count
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        d.append(be32(Int(b << 16 | a)))
        return d
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for x in data { c = crcTable[Int((c ^ UInt32(x)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
