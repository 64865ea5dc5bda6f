// Sixel encoding through libsixel (docs/terminal.md): one palette per image (teacher and
// student share one image, so one palette), no error diffusion (it inflates output 3–4× and invents
// texture), 7-bit DCS. Decoding exists for the round-trip test.
import CSixel
import Foundation

public enum Sixel {
    final class Sink { var data = Data() }

    /// The DCS sequence for an RGB888 image (w·h·3 bytes), in a palette quantised from the image.
    public static func encode(width: Int, height: Int, rgb: [UInt8], colors: Int = 256) throws -> Data {
        try encode(width: width, height: height, rgb: rgb, palette: try SixelPalette(width: width, height: height, rgb: rgb, colors: colors, key: 0))
    }

    /// The DCS sequence for an RGB888 image in a palette built earlier (no per-frame quantisation:
    /// the frames of one clip share the palette of its first frame).
    public static func encode(width: Int, height: Int, rgb: [UInt8], palette: SixelPalette) throws -> Data {
        precondition(rgb.count == width * height * 3, "Sixel.encode: \(rgb.count) bytes for \(width)×\(height)")
        let sink = Sink()
        var output: OpaquePointer?
        let write: sixel_write_function = { data, size, priv in
            let sink = Unmanaged<Sink>.fromOpaque(priv!).takeUnretainedValue()
            sink.data.append(UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: Int(size))
            return Int32(size)
        }
        guard ok(sixel_output_new(&output, write, Unmanaged.passUnretained(sink).toOpaque(), nil)) else { throw TerminalError.sixel("output") }
        defer { sixel_output_unref(output) }
        sixel_output_set_8bit_availability(output, 0)
        var pixels = rgb
        let status = pixels.withUnsafeMutableBufferPointer { p in sixel_encode(p.baseAddress, Int32(width), Int32(height), 0, palette.dither, output) }
        guard ok(status) else { throw TerminalError.sixel("encode (status \(status))") }
        return sink.data
    }

    /// Decodes a sixel sequence to RGB888 (width, height, pixels).
    public static func decode(_ data: Data) throws -> (Int, Int, [UInt8]) {
        var bytes = [UInt8](data)
        var pixels: UnsafeMutablePointer<UInt8>?, palette: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, n: Int32 = 0
        let s = bytes.withUnsafeMutableBufferPointer { sixel_decode_raw($0.baseAddress, Int32($0.count), &pixels, &w, &h, &palette, &n, nil) }
        guard ok(s), let pixels, let palette else { throw TerminalError.sixel("decode") }
        defer { free(pixels); free(palette) }
        var out = [UInt8](repeating: 0, count: Int(w * h) * 3)
        for i in 0..<Int(w * h) {
            let idx = Int(pixels[i])
            out[3 * i] = palette[3 * idx]; out[3 * i + 1] = palette[3 * idx + 1]; out[3 * i + 2] = palette[3 * idx + 2]
        }
        return (Int(w), Int(h), out)
    }

    /// SIXEL_SUCCEEDED is a macro: success has the 0x1000 bit clear.
    static func ok(_ s: SIXELSTATUS) -> Bool { s & 0x1000 == 0 }
}

public enum TerminalError: Error, CustomStringConvertible {
    case sixel(String)
    case terminal(String)
    public var description: String {
        switch self {
        case let .sixel(m): return "sixel: \(m) failed"
        case let .terminal(m): return m
        }
    }
}

/// A libsixel palette (dither) quantised from one image and reused for the others of a clip, so a
/// playing clip keeps its colours from frame to frame (no palette flicker) and skips re-quantising.
public final class SixelPalette {
    let dither: OpaquePointer
    /// What the palette was built for (e.g. a clip's identity); the caller decides when to rebuild.
    public let key: Int

    public init(width: Int, height: Int, rgb: [UInt8], colors: Int = 256, key: Int) throws {
        var d: OpaquePointer?
        guard Sixel.ok(sixel_dither_new(&d, Int32(colors), nil)), let d else { throw TerminalError.sixel("dither") }
        var pixels = rgb
        let status = pixels.withUnsafeMutableBufferPointer { p in
            sixel_dither_initialize(d, p.baseAddress, Int32(width), Int32(height), SIXEL_PIXELFORMAT_RGB888,
                                    SIXEL_LARGE_AUTO, SIXEL_REP_AUTO, SIXEL_QUALITY_AUTO)
        }
        guard Sixel.ok(status) else { sixel_dither_unref(d); throw TerminalError.sixel("palette (status \(status))") }
        sixel_dither_set_diffusion_type(d, SIXEL_DIFFUSE_NONE)
        dither = d
        self.key = key
    }

    deinit { sixel_dither_unref(dither) }
}
