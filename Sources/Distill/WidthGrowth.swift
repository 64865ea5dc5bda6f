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
//
// The same scheme widens a Wan VAE's decoder (`model.init_width` of a VAE config, with
// `decoder_base_dim` that many times the source's): every channel between `conv_in` and `conv_out`
// is copied. The VAE's RMS norm divides by the channel vector's length and multiplies by √C, which
// both grow by √factor, so it too returns the same; the middle block's single-head attention scales
// its scores by 1/√C, so the widened queries are scaled by 1/√factor to keep the scores.
import Models
import Tensors

enum WidthGrowth {
    /// The random stream of a run's shares (model.init_width): from its training seed, apart from the
    /// stream that draws its weights.
    static func shares(trainSeed: UInt64) -> RNG { RNG(seed: trainSeed &+ 0x5769_6474) }

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

    /// [rows, columns, inner] → [rows, factor · columns, inner]: weight (r, i, e) becomes (r, i, e),
    /// (r, columns + i, e), … times shares drawn uniform in [0.5, 1.5) and divided by their sum (`inner`:
    /// a convolution's kernel positions, 1 for a linear).
    static func splitColumns(_ x: [Float], rows: Int, columns: Int, inner: Int = 1, factor: Int, rng: inout RNG) -> [Float] {
        let u = rng.uniform(x.count * factor)
        var y = [Float](repeating: 0, count: x.count * factor)
        for r in 0..<rows {
            for i in 0..<columns {
                for e in 0..<inner {
                    let source = (r * columns + i) * inner + e, k = source * factor
                    var sum: Float = 0
                    for j in 0..<factor { sum += 0.5 + u[k + j] }
                    for j in 0..<factor { y[((r * factor + j) * columns + i) * inner + e] = x[source] * ((0.5 + u[k + j]) / sum) }
                }
            }
        }
        return y
    }

    /// A Wan VAE's decoder tensors (diffusers names, `decoder.*`) `factor` times wider; every other
    /// tensor as it is. `rng` draws the shares.
    static func widenDecoder(_ named: [(String, Tensor)], factor w: Int, rng: inout RNG) -> [(String, Tensor)] {
        guard w > 1 else { return named }
        return named.map { name, t in
            guard name.hasPrefix("decoder.") else { return (name, t) }
            let (chunks, reads) = decoderAxes(name)
            var shape = t.shape, data = t.data
            if let chunks {
                data = repeatRows(data, chunks: chunks, rows: shape[0] / chunks, rowSize: shape.dropFirst().reduce(1, *), factor: w)
                shape[0] *= w
                if name.hasPrefix("decoder.mid_block.attentions.") && name.contains(".to_qkv.") {   // the queries: first of three blocks
                    let queries = shape[0] / 3 * shape.dropFirst().reduce(1, *), s = 1 / Float(w).squareRoot()
                    for i in 0..<queries { data[i] *= s }
                }
            }
            if reads {
                data = splitColumns(data, rows: shape[0], columns: shape[1], inner: shape.dropFirst(2).reduce(1, *), factor: w, rng: &rng)
                shape[1] *= w
            }
            return (name, Tensor(shape: shape, data: data))
        }
    }

    /// For a decoder tensor: into how many blocks its axis 0 falls when widened (nil: not widened —
    /// `conv_out` writes pixels), and whether axis 1 (a weight's input channels) is widened (`conv_in`
    /// reads latents). The upsampler's causal time convolution writes two frames' channels, one block
    /// each; the attention's `to_qkv` writes queries, keys and values.
    static func decoderAxes(_ name: String) -> (chunks: Int?, reads: Bool) {
        let weight = name.hasSuffix(".weight")
        if name.hasPrefix("decoder.conv_out.") { return (nil, weight) }
        if name.hasPrefix("decoder.conv_in.") { return (1, false) }
        if name.hasSuffix(".gamma") { return (1, false) }
        if name.contains(".time_conv.") { return (2, weight) }
        if name.contains(".to_qkv.") { return (3, weight) }
        return (1, weight)
    }
}
