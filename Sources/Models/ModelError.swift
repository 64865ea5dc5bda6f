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

import Foundation

/// Reads a JSON config file (diffusers' config.json) into T, with errors naming the file and key.
func decodeConfigFile<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ModelError.config(path: path, field: "(file)", "cannot read: \(error.localizedDescription)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
        throw ModelError.config(path: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), "wrong type")
    } catch {
        throw ModelError.config(path: path, field: "(json)", "not a valid config: \(error)")
    }
}
