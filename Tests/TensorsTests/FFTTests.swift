// FFTW real transforms against a direct DFT in Double (odd and even sizes, 1D to 3D, batched),
// and the c2r inverse as the unnormalised inverse.
import _TestSupport
import Tensors
import XCTest

final class FFTTests: XCTestCase {
    func testRealFFTMatchesDirectDFT() {
        for dims in [[7], [8], [3, 5], [4, 6], [3, 4, 5], [5, 6, 8], [1, 4, 4], [2, 3, 3]] {
            let x = randomTensor([2] + dims, seed: UInt64(dims.product))
            let fast = FFT.shared.rfft(x.data, dims: dims)
            let slow = FFT.naiveRFFT(x.data, dims: dims)
            XCTAssertEqual(fast.values.count, slow.values.count, "\(dims)")
            assertClose(fast.values, slow.values, atol: 1e-4, rtol: 1e-4, "rfft \(dims)")
        }
    }

    func testInverseIsUnnormalised() {
        for dims in [[9], [4, 6], [3, 4, 5], [5, 8, 8]] {
            let x = randomTensor([3] + dims, seed: 11)
            let back = FFT.shared.irfft(FFT.shared.rfft(x.data, dims: dims))
            let n = Float(dims.product)
            assertClose(back.map { $0 / n }, x.data, atol: 1e-5, rtol: 1e-5, "irfft∘rfft \(dims)")
        }
    }
}
