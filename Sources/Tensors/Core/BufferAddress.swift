// The first element's address of a buffer, empty or not. Tensors of size 0 are allowed, and an empty
// buffer's `baseAddress` may be nil, so the kernels take `.base` instead of `baseAddress!`: for an
// empty buffer it is an aligned address that nothing reads (every loop and BLAS/FFTW call over it
// has a zero count).

extension UnsafeBufferPointer {
    @inline(__always) public var base: UnsafePointer<Element> {
        baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Element>.alignment)!
    }
}

extension UnsafeMutableBufferPointer {
    @inline(__always) public var base: UnsafeMutablePointer<Element> {
        baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) public var base: UnsafeRawPointer { baseAddress ?? UnsafeRawPointer(bitPattern: 16)! }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always) public var base: UnsafeMutableRawPointer { baseAddress ?? UnsafeMutableRawPointer(bitPattern: 16)! }
}
