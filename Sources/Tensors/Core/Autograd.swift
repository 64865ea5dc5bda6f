// Reverse-mode autograd. Each differentiable op records a Node holding its inputs and a backward
// closure that maps the output's gradient to its inputs' gradients (nil where none flows). The
// closure captures only what the backward needs. `backward()` visits nodes in reverse topological
// order and accumulates leaf gradients into `grad`; zeroing is explicit (`zeroGrad`).

final class Node {
    let op: String
    let inputs: [Tensor]
    let backward: ([Float]) -> [[Float]?]

    init(op: String, inputs: [Tensor], backward: @escaping ([Float]) -> [[Float]?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record a graph on this task/thread. `GradMode.withDisabled` runs inference without one.
public enum GradMode {
    @TaskLocal static var enabled: Bool = true

    public static var isEnabled: Bool { enabled }

    public static func withDisabled<R>(_ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(false, operation: body)
    }
}

extension Tensor {
    /// True when an op over `inputs` must record a node.
    @inline(__always)
    public static func needsGrad(_ inputs: Tensor...) -> Bool {
        guard GradMode.enabled else { return false }
        for t in inputs where t.requiresGrad { return true }
        return false
    }

    @inline(__always)
    public static func needsGrad(_ inputs: [Tensor]) -> Bool {
        guard GradMode.enabled else { return false }
        return inputs.contains { $0.requiresGrad }
    }

    /// Attach a backward to `self`, produced by `op` from `inputs`. Call only when `needsGrad`.
    public func record(_ op: String, _ inputs: [Tensor], _ backward: @escaping ([Float]) -> [[Float]?]) {
        requiresGrad = true
        node = Node(op: op, inputs: inputs, backward: backward)
    }

    /// Back-propagate from this tensor. `seed` is dL/dself (default: ones, i.e. self is the loss).
    /// Leaf tensors with `requiresGrad` accumulate into `grad`. The graph is released afterwards
    /// unless `retainGraph`.
    public func backward(seed: [Float]? = nil, retainGraph: Bool = false) {
        precondition(requiresGrad, "backward: tensor \(shape) does not require grad")
        if let seed { precondition(seed.count == count, "backward: seed has \(seed.count) values for shape \(shape)") }

        // Iterative DFS for the topological order (graphs can be thousands of nodes deep).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }

        var grads: [ObjectIdentifier: [Float]] = [ObjectIdentifier(self): seed ?? [Float](repeating: 1, count: count)]
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            guard let node = t.node else {
                t.accumulateGrad(g)
                continue
            }
            let inputGrads = node.backward(g)
            precondition(inputGrads.count == node.inputs.count, "backward of \(node.op): wrong gradient count")
            for (input, gi) in zip(node.inputs, inputGrads) {
                guard input.requiresGrad, let gi else { continue }
                precondition(gi.count == input.count,
                             "backward of \(node.op): gradient of \(gi.count) values for input \(input.shape)")
                let key = ObjectIdentifier(input)
                if var existing = grads.removeValue(forKey: key) {
                    Kernels.addInPlace(&existing, gi)
                    grads[key] = existing
                } else {
                    grads[key] = gi
                }
            }
            if !retainGraph { t.node = nil }
        }
    }

    func accumulateGrad(_ g: [Float]) {
        if grad == nil { grad = g } else { Kernels.addInPlace(&grad!, g) }
    }
}
