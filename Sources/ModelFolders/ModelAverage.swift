// The uniform average of several models' weights: runs of one recipe from the same start, averaged
// tensor by tensor, can sample better than any one of them (measured on two teacher runs in
// docs/two-objects.md, "An average of teachers": within the noise there). Only models that compute
// the same way can be averaged: the same kind, text encoder and transformer configuration, clip size,
// and the same VAE, so their latents mean the same.

import Foundation
import Models
import Tensors

extension VideoModel {
    /// Replaces this model's text encoder and transformer weights by their mean with `others`' (each
    /// model weighs the same; sums in Double, so the order of the models does not matter beyond F32
    /// rounding of the result). This model's description, sampling and VAE are kept; its metadata becomes
    /// `averaged_from` (the names, joined) alone, since no one run made the weights. `names` label the
    /// models in errors (`self` first). The others are refused, naming the model and the field or
    /// tensor, when they would not compute the same way; nothing is changed then.
    public func average(with others: [VideoModel], names: [String]) throws {
        precondition(names.count == others.count + 1, "average: one name per model")
        for (m, name) in zip(others, names.dropFirst()) {
            func refuse(_ what: String) -> Error {
                ModelError.input("\(name): \(what) differs from \(names[0])'s; only models of the same architecture and VAE can be averaged")
            }
            guard m.config.kind == config.kind else { throw refuse("the kind ('\(m.config.kind)' against '\(config.kind)')") }
            guard m.config.transformer == config.transformer else { throw refuse("the transformer configuration") }
            guard m.config.textEncoder == config.textEncoder else { throw refuse("the text encoder configuration") }
            guard m.config.frames == config.frames, m.config.size == config.size else { throw refuse("the clip size") }
            guard try Self.sameVAE(vae, as: m.vae) else { throw refuse("the VAE (its config or weights)") }
        }
        let mine = parameterList(), theirs = others.map { $0.parameterList() }
        for (list, name) in zip(theirs, names.dropFirst()) {
            // Same configurations give the same names and shapes; checked so a mismatch can never go unnoticed.
            guard list.map(\.0) == mine.map(\.0), zip(list, mine).allSatisfy({ $0.1.shape == $1.1.shape }) else {
                throw ModelError.input("\(name): its tensors differ in name or shape from \(names[0])'s")
            }
        }
        let n = Double(others.count + 1)
        for (i, (_, p)) in mine.enumerated() {
            var sum = p.data.map(Double.init)
            for list in theirs {
                let q = list[i].1.data
                for j in sum.indices { sum[j] += Double(q[j]) }
            }
            p.data = sum.map { Float($0 / n) }
        }
        metadata = ["averaged_from": names.joined(separator: ", ")]
    }
}
