// Modules: classes whose stored properties are parameters (Tensors with requiresGrad) and
// sub-modules. The property tree is the checkpoint namespace (stable-diffusion.cpp's rule):
// `blocks.0.attn1.to_q.weight` is the path of stored property names, array elements by index.
// A module may rename a property's key (`parameterKeys`) where Swift names cannot match.
import Tensors

public protocol Module: AnyObject {
    /// Property name → checkpoint key segment (e.g. "toOut" → "to_out.0"). Default: none.
    var parameterKeys: [String: String] { get }
}

extension Module {
    public var parameterKeys: [String: String] { [:] }

    /// Every parameter with its dotted checkpoint name, in declaration order.
    public func namedParameters() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        collect(self, prefix: "", into: &out)
        return out
    }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    /// Copies values from `tensors` into this module's parameters. Strict: a missing, unused or
    /// mis-shaped tensor throws a TensorError naming it (and `path`).
    public func load(_ tensors: [String: Tensor], path: String, strict: Bool = true) throws {
        let params = namedParameters()
        for (name, p) in params {
            guard let t = tensors[name] else { throw TensorError.missingTensor(name: name, path: path) }
            if t.shape != p.shape {
                // Accept a layout that differs only in unit axes (e.g. [C,1,1,1] vs [C]).
                guard t.count == p.count, t.shape.filter({ $0 != 1 }) == p.shape.filter({ $0 != 1 }) else {
                    throw TensorError.wrongShape(name: name, expected: p.shape, actual: t.shape, path: path)
                }
            }
            p.data = t.data
        }
        if strict {
            let known = Set(params.map(\.0))
            let unused = tensors.keys.filter { !known.contains($0) }.sorted()
            if !unused.isEmpty { throw TensorError.unexpectedTensors(names: unused, path: path) }
        }
    }

    /// Parameter values by checkpoint name (for `Safetensors.write`).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.0, Tensor(shape: $0.1.shape, data: $0.1.data)) })
    }
}

private func collect(_ value: Any, prefix: String, into out: inout [(String, Tensor)]) {
    let keys = (value as? Module)?.parameterKeys ?? [:]
    var mirror: Mirror? = Mirror(reflecting: value)
    var children: [(String?, Any)] = []
    // Walk the class hierarchy too (superclass properties come first).
    var chain: [Mirror] = []
    while let m = mirror { chain.append(m); mirror = m.superclassMirror }
    for m in chain.reversed() { children += m.children.map { ($0.label, $0.value) } }
    for (label, child) in children {
        guard let label else { continue }
        let key = keys[label] ?? label
        visit(child, name: prefix.isEmpty ? key : prefix + "." + key, into: &out)
    }
}

private func visit(_ child: Any, name: String, into out: inout [(String, Tensor)]) {
    switch child {
    case let t as Tensor:
        if t.requiresGrad { out.append((name, t)) }
    case let m as Module:
        collect(m, prefix: name, into: &out)
    case let list as [Any]:
        // Arrays of modules (of any concrete or existential type) are numbered like nn.ModuleList.
        for (i, element) in list.enumerated() { if let m = element as? Module { collect(m, prefix: "\(name).\(i)", into: &out) } }
    default:
        // Optionals: look through `.some`.
        let m = Mirror(reflecting: child)
        if m.displayStyle == .optional, let inner = m.children.first?.value { visit(inner, name: name, into: &out) }
    }
}

/// A trainable tensor: requiresGrad set, named for error messages. `values` (its initialiser's draw)
/// is not evaluated inside `ParameterInit.forLoading`.
public func parameter(_ shape: [Int], _ values: @autoclosure () -> [Float]) -> Tensor {
    guard ParameterInit.unfilled else { return Tensor(shape: shape, data: values(), requiresGrad: true) }
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, data: [Float](unsafeUninitializedCapacity: n) { _, count in count = n }, requiresGrad: true)
}

/// Building a module whose every parameter a checkpoint is about to replace (`Module.load`, which
/// refuses a checkpoint that misses one): inside `forLoading` parameters are allocated but neither
/// drawn nor written. A large allocation's pages that are never written take no memory, so loading a
/// model holds its weights once instead of twice (random values, then the file's), and skips the
/// draws. The values are undefined until the load; a failed load throws and the module is dropped.
public enum ParameterInit {
    @TaskLocal public static var unfilled = false

    public static func forLoading<T>(_ build: () throws -> T) rethrows -> T {
        try $unfilled.withValue(true, operation: build)
    }
}
