// Row lookup (nn.Embedding): out[i] = table[ids[i]]; the backward adds each output row's gradient
// into the table row it came from.

extension Tensor {
    /// table: [V, D], ids: n indices in 0..<V → [n, D]
    public static func embedding(_ table: Tensor, _ ids: [Int]) -> Tensor {
        precondition(table.rank == 2, "embedding: table \(table.shape) must be [V, D]")
        let (v, d) = (table.shape[0], table.shape[1])
        for id in ids { precondition(id >= 0 && id < v, "embedding: id \(id) outside the table of \(v) rows") }
        var out = [Float](repeating: 0, count: ids.count * d)
        for (i, id) in ids.enumerated() { for j in 0..<d { out[i * d + j] = table.data[id * d + j] } }
        let result = Tensor(shape: [ids.count, d], data: out)
        if needsGrad(table) {
            result.record("embedding", [table]) { g in
                var gt = [Float](repeating: 0, count: v * d)
                for (i, id) in ids.enumerated() { for j in 0..<d { gt[id * d + j] += g[i * d + j] } }
                return [gt]
            }
        }
        return result
    }
}
