// The clip writers against an independent decoder: libsixel's image loader (its own GIF decoder and
// stb_image's PNG inflater) reads back what GIF.encode and PNG.encode wrote. PNG chunk CRCs and the
// zlib Adler-32 are checked with textbook implementations pinned to their published check values.
import CSixel
import Foundation
@testable import Media
import Tensors
import XCTest

final class ClipFilesTests: XCTestCase {
    struct Decoded { var width: Int; var height: Int; var rgb: [UInt8]; var delay: Int }

    /// Every frame of an image file as libsixel's loader delivers it, expanded to RGB.
    func load(_ path: String) -> [Decoded] {
        final class Sink { var frames: [Decoded] = []; var problem: String? }
        let sink = Sink()
        let callback: sixel_load_image_function = { frame, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let (w, h) = (Int(sixel_frame_get_width(frame)), Int(sixel_frame_get_height(frame)))
            let pixels = sixel_frame_get_pixels(frame)!
            var rgb = [UInt8](repeating: 0, count: w * h * 3)
            switch sixel_frame_get_pixelformat(frame) {
            case SIXEL_PIXELFORMAT_RGB888:
                for i in 0..<(w * h * 3) { rgb[i] = pixels[i] }
            case SIXEL_PIXELFORMAT_PAL8:
                let palette = sixel_frame_get_palette(frame)!
                for i in 0..<(w * h) { for c in 0..<3 { rgb[i * 3 + c] = palette[Int(pixels[i]) * 3 + c] } }
            case let other:
                sink.problem = "pixel format \(other)"
            }
            sink.frames.append(Decoded(width: w, height: h, rgb: rgb, delay: Int(sixel_frame_get_delay(frame))))
            return SIXEL_OK
        }
        var allocator: OpaquePointer?
        XCTAssertEqual(sixel_allocator_new(&allocator, nil, nil, nil, nil), SIXEL_OK)
        defer { sixel_allocator_unref(allocator) }
        let status = sixel_helper_load_image_file(path, 0, 0, 256, nil, SIXEL_LOOP_DISABLE, callback, 0, nil,
                                                  Unmanaged.passUnretained(sink).toOpaque(), allocator)
        XCTAssertEqual(status, SIXEL_OK, "libsixel could not load \(path)")
        if let problem = sink.problem { XCTFail(problem) }
        return sink.frames
    }

    func temp(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "gpd-media-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder + "/" + name
    }

    /// A clip [F, H, W, 3] in [0, 1] of a few flat colours with a moving square (few distinct colours).
    func flatClip(frames: Int, size: Int) -> Tensor {
        var v = [Float](repeating: 0, count: frames * size * size * 3)
        for f in 0..<frames { for y in 0..<size { for x in 0..<size {
            let inside = abs(x - 4 - f) < 3 && abs(y - size / 2) < 3
            let c: [Float] = inside ? [0.9, 0.1, 0.2] : (y < size / 2 ? [0.1, 0.3, 0.8] : [0.95, 0.95, 0.3])
            for k in 0..<3 { v[((f * size + y) * size + x) * 3 + k] = c[k] }
        } } }
        return Tensor(shape: [frames, size, size, 3], data: v)
    }

    func testGIFDecodesToTheClipFramesAndDelays() throws {
        let clip = flatClip(frames: 5, size: 16)
        let path = temp("clip.gif")
        try ClipFiles.write(clip, caption: "a red square moving right", to: path, fps: 10)
        let frames = load(path)
        XCTAssertEqual(frames.count, 5, "one decoded frame per clip frame")
        let original = ClipFiles.bytes(clip), scale = 128 / 16
        for (f, d) in frames.enumerated() {
            XCTAssertEqual([d.width, d.height], [16 * scale, 16 * scale])
            XCTAssertEqual(d.delay, 10, "hundredths of a second at 10 fps")
            var worst = 0
            for y in 0..<d.height { for x in 0..<d.width { for c in 0..<3 {
                let want = Int(original[f][((y / scale) * 16 + x / scale) * 3 + c])
                worst = max(worst, abs(Int(d.rgb[(y * d.width + x) * 3 + c]) - want))
            } } }
            // Fewer than 256 colours: each is kept at 5 bits per channel (its bucket's centre).
            XCTAssertLessThanOrEqual(worst, 4, "frame \(f)")
        }
    }

    func testGIFWithMoreColoursThanThePaletteDecodesToTheEncodersMapping() throws {
        // Noise: thousands of colours (nearest-palette mapping) and enough pixels to fill the LZW
        // table many times over (12-bit codes, clear and restart).
        var rng = RNG(seed: 3)
        let (w, h, n) = (160, 120, 2)
        let frames = (0..<n).map { _ in rng.uniform(w * h * 3).map { UInt8(min($0 * 256, 255)) } }
        let path = temp("noise.gif")
        try GIF.encode(width: w, height: h, frames: frames, delay: 7).write(to: URL(fileURLWithPath: path))
        let (palette, lookup) = GIF.buildPalette(frames)
        let decoded = load(path)
        XCTAssertEqual(decoded.count, n)
        for (f, d) in decoded.enumerated() {
            XCTAssertEqual([d.width, d.height, d.delay], [w, h, 7])
            var mismatches = 0
            for i in 0..<(w * h) {
                let p = palette[Int(lookup[GIF.key(frames[f][i * 3], frames[f][i * 3 + 1], frames[f][i * 3 + 2])])]
                if (d.rgb[i * 3], d.rgb[i * 3 + 1], d.rgb[i * 3 + 2]) != (p.0, p.1, p.2) { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "frame \(f): every pixel is its nearest palette colour")
        }
    }

    func testPNGFramesDecodeExactlyWithValidChecksums() throws {
        // 160 px: 76 960 bytes of scanlines, so the stored deflate stream needs two blocks.
        let clip = flatClip(frames: 2, size: 160)
        let path = temp("frame.png")
        let written = try ClipFiles.write(clip, caption: "", to: path)
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent }, ["frame-000.png", "frame-001.png"])
        let original = ClipFiles.bytes(clip)
        for (f, file) in written.enumerated() {
            let decoded = load(file)
            guard decoded.count == 1 else { XCTFail("\(file): \(decoded.count) frames decoded"); continue }
            XCTAssertEqual([decoded[0].width, decoded[0].height], [160, 160])
            XCTAssertEqual(decoded[0].rgb, original[f], "PNG is lossless")
            checkChecksums(Array(try Data(contentsOf: URL(fileURLWithPath: file))), raw: original[f], width: 160)
        }
    }

    /// Chunk CRCs, and the zlib stream's Adler-32 over the filtered scanlines.
    func checkChecksums(_ png: [UInt8], raw rgb: [UInt8], width: Int) {
        func be32(_ i: Int) -> UInt32 { png[i..<(i + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        var i = 8, idat: [UInt8] = []
        while i < png.count {
            let n = Int(be32(i)), type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            XCTAssertEqual(be32(i + 8 + n), Self.crc32(png[(i + 4)..<(i + 8 + n)]), "CRC of chunk \(type)")
            if type == "IDAT" { idat += png[(i + 8)..<(i + 8 + n)] }
            i += 12 + n
        }
        var scanlines: [UInt8] = []
        for y in 0..<(rgb.count / (width * 3)) { scanlines.append(0); scanlines += rgb[(y * width * 3)..<((y + 1) * width * 3)] }
        let trailer = idat.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        XCTAssertEqual(trailer, Self.adler32(scanlines), "zlib Adler-32")
    }

    static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var (a, b): (UInt32, UInt32) = (1, 0)
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    func testChecksumReferencesMatchTheirPublishedCheckValues() {
        XCTAssertEqual(Self.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(Self.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    func testDestinationsAreCheckedBeforeAnyWork() {
        XCTAssertThrowsError(try ClipFiles.checkDestination("/tmp/clip.bmp")) { XCTAssertTrue("\($0)".contains("clip.bmp") && "\($0)".contains(".bmp")) }
        XCTAssertThrowsError(try ClipFiles.checkDestination("/nonexistent-folder/clip.gif")) { XCTAssertTrue("\($0)".contains("/nonexistent-folder")) }
        XCTAssertNoThrow(try ClipFiles.checkDestination(NSTemporaryDirectory() + "clip.GIF"))
        XCTAssertNoThrow(try ClipFiles.checkDestination("clip.safetensors"))
    }
}
