// The gap weight's map on the latent grid: each latent position takes the largest value of the pixels
// Wan's causal VAE encodes into it (frame 0 alone, then groups of frames; blocks of pixels).
@testable import Distill
import XCTest

final class GapWeightTests: XCTestCase {
    func testMaxPoolPutsEachPixelWhereTheVAEEncodesIt() {
        let (frames, n) = (17, 32)
        // 2× in space and time (9×16×16) and 4× in space and time (5×8×8).
        for (lf, lh, r, b) in [(9, 16, 2, 2), (5, 8, 4, 4)] {
            for (t, y, x) in [(0, 0, 0), (1, 5, 30), (2, 31, 7), (3, 16, 17), (16, 9, 9)] {
                var map = [Float](repeating: 0, count: frames * n * n)
                map[(t * n + y) * n + x] = 0.7
                map[(t * n + (y ^ 1)) * n + x] = 0.2     // a smaller value in the same block loses to it
                let pooled = TeacherTrainer.maxPool(map, frames: frames, size: n, latent: (lf, lh, lh))
                let k = t == 0 ? 0 : (t - 1) / r + 1
                let at = (k * lh + y / b) * lh + x / b
                XCTAssertEqual(pooled.count, lf * lh * lh)
                XCTAssertEqual(pooled[at], 0.7, "frame \(t) (\(y), \(x)) → latent frame \(k)")
                XCTAssertEqual(pooled.enumerated().filter { $0.offset != at }.map(\.element).max(), 0, "nothing elsewhere")
            }
        }
    }
}
