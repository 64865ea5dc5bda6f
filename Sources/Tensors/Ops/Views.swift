// Shape ops: reshape (free: shares the value array), permute, slice, concat, pad (copies).

extension Tensor {
    /// Same values, new shape; one size may be -1 (inferred).
    public func reshape(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).product
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for shape \(shape)")
            s[i] = count / known
        }
        precondition(s.product == count, "reshape: shape \(shape) (\(count) values) cannot become \(newShape)")
        let out = Tensor(shape: s, data: data)
        if Tensor.needsGrad(self) { out.record("reshape", [self]) { g in [g] } }
        return out
    }

    public func reshape(_ s: Int...) -> Tensor { reshape(s) }

    /// Axes reordered: out.shape[i] = shape[perm[i]].
    public func permute(_ perm: [Int]) -> Tensor {
        precondition(perm.count == rank && Set(perm) == Set(0..<rank), "permute: \(perm) is not a permutation of \(rank) axes")
        let outShape = perm.map { shape[$0] }
        let st = strides
        let out = Tensor(shape: outShape, data: StridedCopy.gather(data, offset: 0, strides: perm.map { st[$0] }, shape: outShape))
        if Tensor.needsGrad(self) {
            var inverse = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            let outStrides = outShape.rowMajorStrides
            let inShape = shape
            out.record("permute", [self]) { g in
                [StridedCopy.gather(g, offset: 0, strides: inverse.map { outStrides[$0] }, shape: inShape)]
            }
        }
        return out
    }

    public func permute(_ p: Int...) -> Tensor { permute(p) }

    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var p = Array(0..<rank)
        p.swapAt(normalizedAxis(a, "transpose"), normalizedAxis(b, "transpose"))
        return permute(p)
    }

    /// Values start..<end along `axis`.
    public func slice(axis: Int, _ start: Int, _ end: Int) -> Tensor {
        let a = normalizedAxis(axis, "slice")
        precondition(0 <= start && start <= end && end <= shape[a], "slice: \(start)..<\(end) out of range 0..<\(shape[a]) on axis \(a) of \(shape)")
        var outShape = shape
        outShape[a] = end - start
        let st = strides
        let offset = start * st[a]
        let out = Tensor(shape: outShape, data: StridedCopy.gather(data, offset: offset, strides: st, shape: outShape))
        if Tensor.needsGrad(self) {
            let n = count
            out.record("slice", [self]) { g in
                var gx = [Float](repeating: 0, count: n)
                StridedCopy.scatterAdd(g, into: &gx, offset: offset, strides: st, shape: outShape)
                return [gx]
            }
        }
        return out
    }

    /// Joins tensors along `axis`; all other sizes must agree.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0]
        let a = first.normalizedAxis(axis, "concat")
        for t in tensors {
            precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concat: shape \(t.shape) does not match \(first.shape) outside axis \(a)")
        }
        var outShape = first.shape
        outShape[a] = tensors.map { $0.shape[a] }.reduce(0, +)
        let outer = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        let rowOut = outShape[a] * inner
        var out = [Float](repeating: 0, count: outShape.product)
        var col = 0
        for t in tensors {
            let rowIn = t.shape[a] * inner
            out.withUnsafeMutableBufferPointer { po in
                t.data.withUnsafeBufferPointer { pt in
                    for o in 0..<outer {
                        (po.base + o * rowOut + col).update(from: pt.base + o * rowIn, count: rowIn)
                    }
                }
            }
            col += rowIn
        }
        let result = Tensor(shape: outShape, data: out)
        if needsGrad(tensors) {
            let widths = tensors.map { $0.shape[a] * inner }
            result.record("concat", tensors) { g in
                var grads: [[Float]?] = []
                var c = 0
                for w in widths {
                    var gi = [Float](repeating: 0, count: outer * w)
                    gi.withUnsafeMutableBufferPointer { pi in
                        g.withUnsafeBufferPointer { pg in
                            for o in 0..<outer { (pi.base + o * w).update(from: pg.base + o * rowOut + c, count: w) }
                        }
                    }
                    grads.append(gi)
                    c += w
                }
                return grads
            }
        }
        return result
    }

    /// Zero padding: `padding[i] = (before, after)` for axis i (missing trailing axes get none).
    public func pad(_ padding: [(Int, Int)]) -> Tensor {
        precondition(padding.count <= rank, "pad: \(padding.count) pairs for shape \(shape)")
        let pads = padding + Array(repeating: (0, 0), count: rank - padding.count)
        precondition(pads.allSatisfy { $0.0 >= 0 && $0.1 >= 0 }, "pad: negative padding")
        let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
        let outStrides = outShape.rowMajorStrides
        let offset = zip(pads, outStrides).map { $0.0 * $1 }.reduce(0, +)
        var out = [Float](repeating: 0, count: outShape.product)
        StridedCopy.scatterAdd(data, into: &out, offset: offset, strides: outStrides, shape: shape)
        let result = Tensor(shape: outShape, data: out)
        if Tensor.needsGrad(self) {
            let inShape = shape
            result.record("pad", [self]) { g in
                [StridedCopy.gather(g, offset: offset, strides: outStrides, shape: inShape)]
            }
        }
        return result
    }
}
