extension String {
    /// The longest start of the string that fits in `limit` UTF-8 bytes, cut between
    /// characters (never inside one, so Korean and emoji stay whole).
    public func prefix(utf8Bytes limit: Int) -> String {
        guard utf8.count > limit else { return self }
        var start = ""
        var bytes = 0
        for character in self {
            bytes += character.utf8.count
            if bytes > limit { break }
            start.append(character)
        }
        return start
    }
}
