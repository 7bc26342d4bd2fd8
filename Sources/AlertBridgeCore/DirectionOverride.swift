extension Unicode.Scalar {
    /// A bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069): it
    /// changes the order in which the text after it reads (`exe.txt` shown for `txt.exe`).
    public var isDirectionOverride: Bool {
        (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    }
}
