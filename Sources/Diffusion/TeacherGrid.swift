// Wan's own sampling grid for N steps with shift s: σ_i = shift(1 − i/N), i = 0…N−1, then 0 (the
// grid the original Wan code's flow solvers use; docs/wan21.md §2). Because the shift is monotone,
// every k-th point of the N-step grid is exactly the N/k-step grid: the distillation's teacher and
// students share it (docs/design.md §2).
public struct TeacherGrid: Equatable, Codable {
    public let steps: Int
    public let shift: Double
    public let sigmas: [Float]

    public init(steps: Int, shift: Double) {
        self.steps = steps
        self.shift = shift
        sigmas = (0..<steps).map { Float(FlowSchedule.shift(1 - Double($0) / Double(steps), shift)) } + [0]
    }

    /// The N/k + 1 noise levels a horizon-k student samples on.
    public func student(_ k: Int) -> [Float] { stride(from: 0, through: steps, by: k).map { sigmas[$0] } }
}
