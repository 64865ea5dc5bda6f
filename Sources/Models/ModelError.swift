// Errors for model configs and checkpoints a user can get wrong: each names the file and the field.

public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A config value that is missing, malformed or inconsistent.
    case config(path: String, field: String, String)
    /// An input that does not fit the model (shape, frame count, size).
    case input(String)
    /// A model file that is missing or not what its name says.
    case file(path: String, String)

    public var description: String {
        switch self {
        case let .config(path, field, message): return "\(path): '\(field)': \(message)"
        case let .input(message): return message
        case let .file(path, message): return "\(path): \(message)"
        }
    }
}

import Foundation

/// Reads a JSON config file (diffusers' config.json) into T, with errors naming the file and key.
func decodeConfigFile<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    let data: Data
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw ModelError.config(path: path, field: "(file)", "no such file (a model folder holds config.json)")
    }
    guard !isDir.boolValue else { throw ModelError.config(path: path, field: "(file)", "is a folder, not a config file") }
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        let e = error as NSError
        let reason = (e.userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) } ?? "unreadable"
        throw ModelError.config(path: path, field: "(file)", "cannot read: \(reason)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
        throw ModelError.config(path: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), "wrong type")
    } catch {
        throw ModelError.config(path: path, field: "(json)", "not a valid config: \(error)")
    }
}
