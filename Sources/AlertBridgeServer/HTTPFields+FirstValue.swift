import HTTPTypes

extension HTTPFields {
    /// The value of the first field called `name`. `self[name]` joins every such field's
    /// value with a lazy map and `joined(separator:)`, which cost a single-alert request
    /// about 3,300 instructions for the few headers each ingest reads (callgrind, 1% of
    /// its work); where one value is enough (a length, a coding, whether one is there at
    /// all), this is read instead.
    func firstValue(_ name: HTTPField.Name) -> String? {
        first { $0.name == name }?.value
    }
}
