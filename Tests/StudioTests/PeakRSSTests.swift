// The peak resident set that `gpd bench --json` and `gpd model forward --json` report, read from
// /proc/self/status in the kernel's layout ("VmHWM:\t%8lu kB").
@testable import Bench
import XCTest

final class PeakRSSTests: XCTestCase {
    func testVmHWMParsesWithAndWithoutPadding() {
        let status = "Name:\tgpd\nVmPeak:\t12000000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\n"
        XCTAssertEqual(ModelBench.peakRSSKiB(status: status), 5120)
        // Eight digits fill the field: no space after the tab (a 1.3B-size model's load reached it).
        XCTAssertEqual(ModelBench.peakRSSKiB(status: "VmHWM:\t11353932 kB\n"), 11_353_932)
        XCTAssertEqual(ModelBench.peakRSSKiB(status: "VmRSS:\t 100 kB\n"), 0, "no VmHWM line")
        XCTAssertGreaterThan(ModelBench.peakRSSKiB(), 0, "this process's own status has one")
    }
}
