// Writing clips: an animated GIF, numbered PNG frames, or safetensors (`frames` [F,H,W,3] Float in
// [0,1], the caption in the metadata). Frames come as a Tensor [F, H, W, 3] in [0, 1].
import Foundation
import Tensors

public enum ClipFiles {
    /// 8-bit RGB bytes of each frame.
    public static func bytes(_ frames: Tensor) -> [[UInt8]] {
        precondition(frames.rank == 4 && frames.shape[3] == 3, "ClipFiles: frames \(frames.shape) must be [F, H, W, 3]")
        let per = frames.shape[1] * frames.shape[2] * 3
        return (0..<frames.shape[0]).map { f in
            frames.data[(f * per)..<((f + 1) * per)].map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
        }
    }

    public static let formats = ["gif", "png", "safetensors"]

    /// Fails, naming the path, when `write` could not write there: an unknown extension or a parent
    /// folder that does not exist. Commands call it before the work that produces the clip.
    public static func checkDestination(_ path: String) throws {
        let ext = (path as NSString).pathExtension.lowercased()
        guard formats.contains(ext) else {
            throw TensorError.file(path: path, "unknown clip format '.\(ext)': use .gif, .png or .safetensors")
        }
        let parent = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        guard parent.isEmpty || (FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder) && isFolder.boolValue) else {
            throw TensorError.file(path: path, "the folder '\(parent)' does not exist")
        }
    }

    /// Writes by extension: .gif, .png (frame files NAME-000.png …), .safetensors.
    /// Returns the paths written.
    @discardableResult
    public static func write(_ frames: Tensor, caption: String, to path: String, fps: Int = 8, metadata: [String: String] = [:]) throws -> [String] {
        try checkDestination(path)
        let ext = (path as NSString).pathExtension.lowercased()
        let (h, w) = (frames.shape[1], frames.shape[2])
        switch ext {
        case "gif":
            let scale = max(1, 128 / max(w, 1))
            try AtomicFile.write(GIF.encode(width: w, height: h, frames: bytes(frames), delay: max(2, 100 / max(fps, 1)), scale: scale), to: path)
            return [path]
        case "png":
            let stem = (path as NSString).deletingPathExtension
            var paths: [String] = []
            for (i, f) in bytes(frames).enumerated() {
                let p = String(format: "%@-%03d.png", stem, i)
                try AtomicFile.write(PNG.encode(width: w, height: h, rgb: f), to: p)
                paths.append(p)
            }
            return paths
        case "safetensors":
            var meta = metadata
            meta["caption"] = caption
            meta["fps"] = String(fps)
            try Safetensors.write(["frames": frames], metadata: meta, to: path)
            return [path]
        default:
            preconditionFailure("checkDestination admits only \(formats)")
        }
    }

    /// A contact sheet: the frames side by side in one PNG (for looking at a clip in one image).
    public static func sheet(_ frames: Tensor, every step: Int = 1, scale: Int = 4) -> Data {
        let (f, h, w) = (frames.shape[0], frames.shape[1], frames.shape[2])
        let picked = Array(stride(from: 0, to: f, by: step))
        let all = bytes(frames)
        let (W, H) = (picked.count * (w * scale + 2), h * scale)
        var rgb = [UInt8](repeating: 255, count: W * H * 3)
        for (slot, fi) in picked.enumerated() {
            for y in 0..<H { for x in 0..<(w * scale) {
                let s = ((y / scale) * w + x / scale) * 3, d = (y * W + slot * (w * scale + 2) + x) * 3
                rgb[d] = all[fi][s]; rgb[d + 1] = all[fi][s + 1]; rgb[d + 2] = all[fi][s + 2]
            } }
        }
        return PNG.encode(width: W, height: H, rgb: rgb)
    }
}
