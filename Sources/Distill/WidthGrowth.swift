// A trained Wan transformer made `factor` times wider (heads and FFN; head_dim kept) so that it
// computes exactly what it computed before (`model.init_width`, docs/two-objects.md "A wider teacher").
//
// Every channel of the residual stream, every attention channel (so every head) and every FFN unit
// appears `factor` times, in blocks: channel i of a D-wide axis becomes channels i, D + i, 2D + i, …
// A tensor that writes such an axis repeats its rows, so every copy holds the same value; layer norms
// and RMS norms see the same mean and root mean square over the repeated vector, attention heads come
// in identical groups, and elementwise modulations repeat with their channels. A tensor that reads such
// an axis splits each weight over the copies with random shares that sum to 1, so it reads the same sum.
// The shares differ from copy to copy, so the copies receive different gradients from the first step
// and grow apart (equal shares would keep them equal forever).
import Models
import Tensors

enum WidthGrowth {
    /// The transformer's tensors (diffusers names) `factor` times wider; `rng` draws the shares.
    static func widen(_ named: [(String, Tensor)], factor w: Int, rng: inout RNG) -> [(String, Tensor)] {
        guard w > 1 else { return named }
        return named.map { name, t in
            let (chunks, reads) = axes(name)
            var shape = t.shape, data = t.data
            if name.hasSuffix("scale_shift_table") {   // [1, k, D]: repeat the last axis
                data = repeatRows(data, chunks: shape.dropLast().reduce(1, *), rows: shape.last!, rowSize: 1, factor: w)
                shape[shape.count - 1] *= w
                return (name, Tensor(shape: shape, data: data))
            }
            if let chunks {   // axis 0 is written: repeat its rows (within each of `chunks` blocks)
                let rowSize = shape.dropFirst().reduce(1, *)
                data = repeatRows(data, chunks: chunks, rows: shape[0] / chunks, rowSize: rowSize, factor: w)
                shape[0] *= w
            }
            if reads, shape.count == 2 {   // axis 1 is read: split every weight over its copies
                data = splitColumns(data, rows: shape[0], columns: shape[1], factor: w, rng: &rng)
                shape[1] *= w
            }
            return (name, Tensor(shape: shape, data: data))
        }
    }

    /// For a tensor name: into how many blocks its axis 0 falls when that axis is widened (nil: it is
    /// not — the output projection writes latent values), and whether its axis 1, where it has one (a
    /// linear's weight), is a widened input.
    /// The time embedding's first layer reads sinusoidal features and the text embedding's reads the
    /// text encoder, neither of which widens; `time_proj` writes the six modulations, one block each.
    static func axes(_ name: String) -> (chunks: Int?, reads: Bool) {
        if name.hasPrefix("proj_out.") { return (nil, name.hasSuffix(".weight")) }
        if name.hasPrefix("condition_embedder.time_proj.") { return (6, name.hasSuffix(".weight")) }
        if name.hasPrefix("condition_embedder.time_embedder.linear_1.") || name.hasPrefix("condition_embedder.text_embedder.linear_1.")
            || name.hasPrefix("patch_embedding.") { return (1, false) }
        return (1, name.hasSuffix(".weight"))
    }

    /// [chunks, rows, rowSize] → [chunks, factor · rows, rowSize], row r of a block repeated at r, rows + r, ….
    static func repeatRows(_ x: [Float], chunks: Int, rows: Int, rowSize: Int, factor: Int) -> [Float] {
        var y = [Float]()
        y.reserveCapacity(x.count * factor)
        let block = rows * rowSize
        for c in 0..<chunks { for _ in 0..<factor { y += x[(c * block)..<((c + 1) * block)] } }
        return y
    }

    /// [rows, columns] → [rows, factor · columns]: weight (r, i) becomes (r, i), (r, columns + i), … times
    /// shares drawn uniform in [0.5, 1.5) and divided by their sum.
    static func splitColumns(_ x: [Float], rows: Int, columns: Int, factor: Int, rng: inout RNG) -> [Float] {
        let u = rng.uniform(rows * columns * factor)
        var y = [Float](repeating: 0, count: x.count * factor)
        for r in 0..<rows {
            for i in 0..<columns {
                let k = (r * columns + i) * factor
                var sum: Float = 0
                for j in 0..<factor { sum += 0.5 + u[k + j] }
                for j in 0..<factor { y[r * columns * factor + j * columns + i] = x[r * columns + i] * ((0.5 + u[k + j]) / sum) }
            }
        }
        return y
    }
}
