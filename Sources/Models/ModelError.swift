// Errors for model configs and checkpoints a user can get wrong: each names the file and the field.

public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A config value that is missing, malformed or inconsistent.
    case config(path: String, field: String, String)
    /// An input that does not fit the model (shape, frame count, size).
    case input(String)

    public var description: String {
        switch self {
        case let .config(path, field, message): return "\(path): '\(field)': \(message)"
        case let .input(message): return message
        }
    }
}
