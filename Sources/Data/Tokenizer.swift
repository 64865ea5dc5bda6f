// A word-level tokenizer for the ShapesWorld vocabulary: PAD = 0, EOS = 1, UNK = 2, then the grammar's
// words in sorted order. Text is lowercased and split on anything that is not a letter (so punctuation,
// digits and broken UTF-8 replacement characters separate words). Unknown words map to UNK and are
// reported; prompts longer than the model's text length are truncated and say so.

public struct Tokenized: Equatable {
    /// `length` ids: real tokens, EOS, then PAD.
    public var ids: [Int]
    /// Real tokens including EOS.
    public var count: Int
    public var unknownWords: [String]
    /// Words dropped to fit the text length.
    public var truncatedWords: Int
}

public struct Tokenizer: Equatable {
    public static let pad = 0, eos = 1, unk = 2
    public let words: [String]
    let index: [String: Int]

    public init(words: [String] = Array(Set(PromptGrammar.vocabulary)).sorted()) {
        self.words = words
        var idx: [String: Int] = [:]
        for (i, w) in words.enumerated() { idx[w] = i + 3 }
        index = idx
    }

    public var vocabularySize: Int { words.count + 3 }

    public func encode(_ text: String, length: Int) -> Tokenized {
        precondition(length >= 1, "Tokenizer: text length must be at least 1")
        let w = PromptGrammar.words(text)
        var unknown: [String] = []
        var ids = w.map { word -> Int in
            if let i = index[word] { return i }
            if !unknown.contains(word) { unknown.append(word) }
            return Self.unk
        }
        let keep = length - 1
        let dropped = max(0, ids.count - keep)
        ids = Array(ids.prefix(keep)) + [Self.eos]
        let count = ids.count
        return Tokenized(ids: ids + [Int](repeating: Self.pad, count: length - count), count: count, unknownWords: unknown, truncatedWords: dropped)
    }
}
