// Everything gpd prints passes through SafeText: names, captions, event details and log lines come
// from files and arguments, and must reach the terminal as text, never as control sequences. This
// `print` shadows the standard library's for the whole executable.
import Foundation
import Terminal

func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(SafeText.sanitize(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}

/// A line on standard error, sanitised like `print`.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((SafeText.sanitize(text) + "\n").utf8))
}
