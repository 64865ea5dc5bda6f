// Reading clips to score: a safetensors file (`frames` [F,H,W,3] or [B,F,H,W,3] in [0,1], the prompt in
// the metadata as `caption`, or one per line in `captions`) or a folder of such files (sorted by name).
import Foundation
import Tensors

public struct LabeledClip {
    public var frames: Tensor       // [F, H, W, 3]
    public var prompt: String?
    public var source: String
}

public enum ClipSet {
    public static func load(_ path: String) throws -> [LabeledClip] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw TensorError.file(path: path, "no such file or folder") }
        if isDir.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".safetensors") }.sorted()
            guard !names.isEmpty else { throw TensorError.file(path: path, "no .safetensors clips in this folder") }
            return try names.flatMap { try file(path + "/" + $0) }
        }
        return try file(path)
    }

    static func file(_ path: String) throws -> [LabeledClip] {
        let f = try Safetensors.read(path)
        guard let frames = f.tensors["frames"] ?? (f.tensors.count == 1 ? f.tensors.first!.value : nil) else {
            throw TensorError.file(path: path, "no 'frames' tensor (it holds \(f.tensors.keys.sorted().joined(separator: ", ")))")
        }
        let captions = f.metadata["captions"].map { $0.split(separator: "\n").map(String.init) }
        switch frames.rank {
        case 4:
            guard frames.shape[3] == 3 else { throw TensorError.file(path: path, "frames \(frames.shape) must end in 3 (RGB)") }
            return [LabeledClip(frames: frames, prompt: f.metadata["caption"] ?? captions?.first, source: path)]
        case 5:
            guard frames.shape[4] == 3 else { throw TensorError.file(path: path, "frames \(frames.shape) must end in 3 (RGB)") }
            let n = frames.shape[0]
            return (0..<n).map { i in
                LabeledClip(frames: frames.slice(axis: 0, i, i + 1).reshape(Array(frames.shape.dropFirst())),
                            prompt: captions.flatMap { i < $0.count ? $0[i] : nil } ?? (n == 1 ? f.metadata["caption"] : nil), source: "\(path)[\(i)]")
            }
        default:
            throw TensorError.file(path: path, "frames \(frames.shape) must be [F, H, W, 3] or [B, F, H, W, 3]")
        }
    }
}
