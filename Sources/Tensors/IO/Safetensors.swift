// safetensors read/write (https://github.com/huggingface/safetensors, format spec in its README):
// u64 little-endian header length N, N bytes of JSON header, then the raw data buffer.
// Reading accepts F32, F16, BF16, F64, I64, I32 (converted to Float32) and keeps `__metadata__`;
// every offset, size and dtype is checked before a byte is read, so a crafted file gives a
// TensorError, never a crash or an out-of-bounds read; files are read tensor by tensor with pread, so
// loading needs no more memory than the tensors. Writing is F32 (or F16 on request, rounded to
// nearest even by the standard library's Float16), atomic (temp, fsync, rename).
import Foundation

public struct SafetensorsFile {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    /// Original dtypes by name ("F32", "BF16", …).
    public var dtypes: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String] = [:], dtypes: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
        self.dtypes = dtypes
    }

    /// The tensor named `name`, with a typed error naming the file when it is missing or mis-shaped.
    public func tensor(_ name: String, shape: [Int]? = nil, path: String = "<memory>") throws -> Tensor {
        guard let t = tensors[name] else { throw TensorError.missingTensor(name: name, path: path) }
        if let shape, t.shape != shape { throw TensorError.wrongShape(name: name, expected: shape, actual: t.shape, path: path) }
        return t
    }
}

/// A tensor as a file stores it: its dtype and raw little-endian bytes.
public struct StoredTensor: Sendable {
    public let name: String, dtype: String, shape: [Int]
    let bytes: [UInt8]
    public var count: Int { shape.reduce(1, *) }
    /// Bytes held in memory.
    public var storedBytes: Int { bytes.count }

    /// The whole tensor as Float32.
    public func widened() -> Tensor {
        let values = bytes.withUnsafeBytes { Safetensors.decode($0.base, count: count, dtype: dtype) }
        return Tensor(shape: shape, data: values, name: name)
    }

    /// Rows `ids` of a 2-D tensor (an embedding table) as Float32 [ids.count, columns], without widening
    /// the rest. The caller checks the ids (precondition here).
    public func rows(_ ids: [Int]) -> Tensor {
        precondition(shape.count == 2 && ids.allSatisfy { $0 >= 0 && $0 < shape[0] }, "rows \(ids) of \(name) \(shape)")
        let cols = shape[1], size = bytes.count / max(count, 1)
        var out: [Float] = []
        out.reserveCapacity(ids.count * cols)
        bytes.withUnsafeBytes { raw in
            for id in ids { out += Safetensors.decode(raw.base + id * cols * size, count: cols, dtype: dtype) }
        }
        return Tensor(shape: [ids.count, cols], data: out, name: name)
    }
}

public enum Safetensors {
    static let maxHeader = 100 << 20
    static let elementSize: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4]

    /// One tensor's place in the data buffer, checked against the buffer's size.
    struct Entry {
        var name: String, dtype: String, shape: [Int], count: Int, start: Int, end: Int
    }

    /// Reads a file tensor by tensor with `pread` straight into each tensor's storage: the peak
    /// memory is the tensors themselves, not the tensors plus a mapping of the whole file.
    public static func read(_ path: String) throws -> SafetensorsFile {
        try withOpenFile(path, stored: false) { readExactly, header, entries, bufferStart in
        var file = header
        for e in entries {
            let values: [Float]
            if e.dtype == "F32" && UInt32(littleEndian: 1) == 1 {
                // Little-endian F32 is the host's layout: read straight into the tensor's storage.
                var f = [Float](repeating: 0, count: e.count)
                try f.withUnsafeMutableBytes { if e.count > 0 { try readExactly($0.base, e.end - e.start, bufferStart + e.start) } }
                values = f
            } else {
                let bytes = e.end - e.start
                var raw = [UInt8](repeating: 0, count: bytes)
                try raw.withUnsafeMutableBytes { if bytes > 0 { try readExactly($0.base, bytes, bufferStart + e.start) } }
                values = raw.withUnsafeBytes { decode($0.base, count: e.count, dtype: e.dtype) }
            }
            file.tensors[e.name] = Tensor(shape: e.shape, data: values, name: e.name)
        }
        return file
        }
    }

    /// Opens `path`, checks its header and hands `body` a reader of exact byte ranges (pread at an
    /// offset), the header's metadata and dtypes, the checked entries and where the data buffer starts.
    static func withOpenFile<R>(_ path: String, stored: Bool,
                                _ body: (_ readExactly: (UnsafeMutableRawPointer, Int, Int) throws -> Void, SafetensorsFile, [Entry], Int) throws -> R) throws -> R {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TensorError.file(path: path, "cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorError.file(path: path, "cannot stat: \(String(cString: strerror(errno)))") }
        let fileSize = Int(st.st_size)
        func readExactly(_ p: UnsafeMutableRawPointer, _ n: Int, at offset: Int) throws {
            var done = 0
            while done < n {
                let r = pread(fd, p + done, n - done, off_t(offset + done))
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { throw TensorError.file(path: path, "read failed at byte \(offset + done): \(r < 0 ? String(cString: strerror(errno)) : "unexpected end of file")") }
                done += r
            }
        }
        var n64: UInt64 = 0
        if fileSize >= 8 { try withUnsafeMutableBytes(of: &n64) { try readExactly($0.base, 8, at: 0) } }
        let n = try headerLength(UInt64(littleEndian: n64), fileSize: fileSize, path: path)
        var headerBytes = Data(count: n)
        try headerBytes.withUnsafeMutableBytes { if n > 0 { try readExactly($0.base, n, at: 8) } }
        let (file, entries) = try parseHeader(headerBytes, bufferSize: fileSize - 8 - n, path: path, stored: stored)
        return try body({ try readExactly($0, $1, at: $2) }, file, entries, 8 + n)
    }

    public static func parse(_ data: Data, path: String = "<memory>") throws -> SafetensorsFile {
        let n64 = data.count >= 8 ? data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }.littleEndian : 0
        let n = try headerLength(n64, fileSize: data.count, path: path)
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + n)
        let bufferStart = 8 + n
        var (file, entries) = try parseHeader(headerBytes, bufferSize: data.count - bufferStart, path: path)
        for e in entries {
            let values = data.withUnsafeBytes { raw -> [Float] in decode(raw.base + bufferStart + e.start, count: e.count, dtype: e.dtype) }
            file.tensors[e.name] = Tensor(shape: e.shape, data: values, name: e.name)
        }
        return file
    }

    /// The header length N from the first 8 bytes (`n64`), checked against the file's size.
    static func headerLength(_ n64: UInt64, fileSize: Int, path: String) throws -> Int {
        func bad(_ why: String) -> TensorError { .safetensors(path: path, why) }
        guard fileSize >= 8 else { throw bad("file is \(fileSize) bytes, shorter than the 8-byte header length") }
        guard n64 <= UInt64(maxHeader) else { throw bad("header length \(n64) exceeds the \(maxHeader)-byte limit") }
        guard 8 + Int(n64) <= fileSize else { throw bad("header length \(n64) runs past the end of the \(fileSize)-byte file") }
        return Int(n64)
    }

    /// Reads a file keeping each tensor in its stored dtype (a BF16 tensor stays 2 bytes a value), for
    /// models larger as Float32 than as stored: widen one tensor at a time with `StoredTensor.widened()`.
    public static func readStored(_ path: String) throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
        try withOpenFile(path, stored: true) { readExactly, file, entries, bufferStart in
            var out: [String: StoredTensor] = [:]
            for e in entries {
                var raw = [UInt8](repeating: 0, count: e.end - e.start)
                try raw.withUnsafeMutableBytes { if !$0.isEmpty { try readExactly($0.base, $0.count, bufferStart + e.start) } }
                out[e.name] = StoredTensor(name: e.name, dtype: e.dtype, shape: e.shape, bytes: raw)
            }
            return (out, file.metadata)
        }
    }

    /// The header's metadata and dtypes, and every tensor's checked place in a buffer of `bufferSize` bytes.
    /// `stored`: the tensors are kept as stored, so the memory check counts the file's bytes, not Float32s.
    static func parseHeader(_ headerBytes: Data, bufferSize: Int, path: String, stored: Bool = false) throws -> (SafetensorsFile, [Entry]) {
        func bad(_ why: String) -> TensorError { .safetensors(path: path, why) }
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        var file = SafetensorsFile(tensors: [:])
        var entries: [Entry] = []
        var total = 0
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v as? String else { throw bad("__metadata__ value for '\(k)' is not a string") }
                    file.metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offsAny = entry["data_offsets"] as? [Any], offsAny.count == 2 else {
                throw bad("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let size = elementSize[dtype] else { throw bad("tensor '\(name)' has unsupported dtype \(dtype) (F32, F16, BF16, F64, I64, I32 are read)") }
            guard let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 && $0 < (1 << 40) }) else { throw bad("tensor '\(name)' has an invalid shape") }
            guard let offs = intArray(offsAny), offs[0] >= 0, offs[0] <= offs[1], offs[1] <= bufferSize else {
                throw bad("tensor '\(name)' data_offsets \(offsAny) fall outside the \(bufferSize)-byte data buffer")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            guard !overflow, count.multipliedReportingOverflow(by: size).partialValue == offs[1] - offs[0],
                  !count.multipliedReportingOverflow(by: size).overflow else {
                throw bad("tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(count * size) bytes, data_offsets give \(offs[1] - offs[0])")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, count: count, start: offs[0], end: offs[1]))
            total = total.addingReportingOverflow(count).partialValue
            file.dtypes[name] = dtype
        }
        // Every tensor becomes Float32 in memory (or stays as stored): refuse a file whose tensors cannot
        // fit, before reading any.
        do { try MemoryBudget.checkFloats(stored ? bufferSize / 4 : total, "the file's \(entries.count) tensors") } catch { throw TensorError.file(path: path, "\(error)") }
        return (file, entries)
    }

    static func intArray(_ a: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in a {
            guard let num = v as? NSNumber else { return nil }
            let d = num.doubleValue
            guard d == d.rounded(), d >= 0, d < 9e15 else { return nil }
            out.append(num.intValue)
        }
        return out
    }

    static func decode(_ p: UnsafeRawPointer, count: Int, dtype: String) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { po in
            switch dtype {
            case "F32": for i in 0..<count { po[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "F64": for i in 0..<count { po[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case "BF16": for i in 0..<count { po[i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case "F16": for i in 0..<count { po[i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case "I64": for i in 0..<count { po[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case "I32": for i in 0..<count { po[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            default: preconditionFailure("unreachable dtype \(dtype)")
            }
        }
        return out
    }

    /// IEEE binary16 → binary32, including subnormals, infinities and NaN.
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F), mant = UInt32(h & 0x3FF)
        if exp == 0 {
            let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }

    /// How tensors are stored on disk. F16 halves the size; values round to nearest even
    /// (relative error ≤ 2⁻¹¹ in the normal range) and are read back as Float32.
    public enum Storage: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16"
        var bytes: Int { self == .f32 ? 4 : 2 }

        /// The values as a file in this storage reads them back.
        public func stored(_ values: [Float]) -> [Float] {
            self == .f32 ? values : values.map { Float(Float16($0)) }
        }
    }

    /// The bytes of a safetensors file holding `tensors` as `storage`, names sorted, header padded to 8 bytes.
    public static func serialize(_ tensors: [String: Tensor], metadata: [String: String] = [:], storage: Storage = .f32) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": storage.rawValue, "shape": t.shape, "data_offsets": [offset, offset + storage.bytes * t.count]]
            offset += storage.bytes * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            tensors[name]!.data.withUnsafeBufferPointer { p in
                switch storage {
                case .f32:
                    out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.base).assumingMemoryBound(to: UInt8.self), count: p.count * 4))
                case .f16:
                    var half = [UInt16](repeating: 0, count: p.count)
                    for i in 0..<p.count { half[i] = Float16(p[i]).bitPattern.littleEndian }
                    half.withUnsafeBytes { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// Writes atomically: a temp file beside `path`, fsync, rename. A crash leaves the old file intact.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], storage: Storage = .f32, to path: String) throws {
        let data = try serialize(tensors, metadata: metadata, storage: storage)
        try AtomicFile.write(data, to: path)
    }
}

/// Whole-file writes that are either complete or absent: temp file, fsync, rename, fsync of the folder.
/// The temp file is created exclusively under a random name (mkstemp: O_CREAT | O_EXCL, so a file or
/// symlink planted at any predictable name is never opened, let alone followed); rename replaces a
/// symlink at `path` itself rather than writing through it.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var template = Array((dir + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.base) }
        let tmp = String(cString: template)
        guard fd >= 0 else { throw TensorError.file(path: path, "cannot create a temporary file beside it: \(String(cString: strerror(errno)))") }
        let mask = umask(0); umask(mask)
        fchmod(fd, 0o666 & ~mask)
        var ok = true
        var err = ""
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let w = Foundation.write(fd, raw.base + done, raw.count - done)
                if w < 0 { if errno == EINTR { continue }; ok = false; err = String(cString: strerror(errno)); return }
                done += w
            }
        }
        if ok && fsync(fd) != 0 { ok = false; err = String(cString: strerror(errno)) }
        close(fd)
        guard ok else { unlink(tmp); throw TensorError.file(path: path, "write failed: \(err); the previous file is untouched") }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno)); unlink(tmp)
            throw TensorError.file(path: path, "rename failed: \(e)")
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
