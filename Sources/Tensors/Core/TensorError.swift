// Typed errors for everything that reads or checks outside input (files, shapes, names).
// Programming errors inside the engine are preconditions; what a user can cause is a TensorError.

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(op: String, String)
    case file(path: String, String)
    case safetensors(path: String, String)
    case missingTensor(name: String, path: String)
    case unexpectedTensors(names: [String], path: String)
    case wrongShape(name: String, expected: [Int], actual: [Int], path: String)
    /// A size that cannot be allocated on this machine (or counted in an Int).
    case tooLarge(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail): return "\(op): \(detail)"
        case let .file(path, detail): return "\(path): \(detail)"
        case let .safetensors(path, detail): return "\(path): not a valid safetensors file: \(detail)"
        case let .missingTensor(name, path): return "\(path): missing tensor '\(name)'"
        case let .unexpectedTensors(names, path):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(path): \(names.count) unused tensor(s): \(shown)\(names.count > 5 ? ", …" : "")"
        case let .wrongShape(name, expected, actual, path):
            return "\(path): tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .tooLarge(detail): return detail
        }
    }
}
