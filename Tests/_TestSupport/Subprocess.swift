// Child processes for tests, through posix_spawn and waitpid. Foundation.Process on Linux detects a
// child's exit through a socket the child inherits; a child that daemonizes (tmux new-session starts
// its server that way) passes the socket on and waitUntilExit never returns
// (swift-corelibs-foundation#4795). Every wait here has a deadline, so a stuck child fails a test
// instead of hanging the suite.
import Foundation
import XCTest

public struct Child {
    public let pid: pid_t

    /// Starts `arguments[0]` (looked up in PATH) with stdin from /dev/null and stdout+stderr to
    /// `output` (a file path; /dev/null when nil).
    public static func spawn(_ arguments: [String], output: String? = nil) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard rc == 0 else { throw NSError(domain: "spawn \(arguments[0])", code: Int(rc)) }
        return Child(pid: pid)
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits up to `seconds` for the child to exit; returns its exit status (128 + signal when killed),
    /// or nil on timeout (the child is then killed and reaped).
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let sig = status & 0x7f
                return sig == 0 ? (status >> 8) & 0xff : 128 + sig
            }
            if r < 0 { return nil }
            if Date() >= deadline {
                kill(pid, SIGKILL); _ = waitpid(pid, &status, 0)
                return nil
            }
            usleep(20_000)
        }
    }

    /// Runs a command to completion (at most `seconds`) and returns its exit status and output.
    public static func run(_ arguments: [String], seconds: Double = 30,
                           file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String) {
        let out = NSTemporaryDirectory() + "child-\(getpid())-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let child = try spawn(arguments, output: out)
        guard let status = child.wait(seconds: seconds) else {
            XCTFail("\(arguments.joined(separator: " ")) did not finish in \(seconds) s", file: file, line: line)
            return (-1, "")
        }
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return (status, text)
    }
}
