// Strings from files reach the terminal as text: escape sequences, C1 controls and DEL are shown,
// never acted on.
import Terminal
import XCTest

final class SafeTextTests: XCTestCase {
    func testControlSequencesBecomeVisibleText() {
        XCTAssertEqual(SafeText.sanitize("plain, ünïcode ✓\tand\nlines"), "plain, ünïcode ✓\tand\nlines")
        XCTAssertEqual(SafeText.sanitize("a\u{1B}]0;pwned\u{07}b"), "a^[]0;pwned^Gb")
        XCTAssertEqual(SafeText.sanitize("\u{1B}[2J\u{1B}[H"), "^[[2J^[[H")
        XCTAssertEqual(SafeText.sanitize("x\u{9B}31mx\u{7F}"), "x<U+009B>31mx^?")
        XCTAssertEqual(SafeText.sanitize("a\rb"), "a^Mb", "a carriage return cannot overwrite the line")
        XCTAssertEqual(SafeText.sanitize("one\ntwo", keepNewlines: false), "one^Jtwo")
    }
}
