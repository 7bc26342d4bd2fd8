/// Lower-case hexadecimal, as fingerprints, signatures and JSON's `\u` escapes write it.
public enum Hex {
    /// The digit of each value 0–15.
    public static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Two digits per byte, written into the string's own storage.
    public static func string<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for byte in bytes {
                out[i] = digits[Int(byte >> 4)]
                out[i + 1] = digits[Int(byte & 0x0F)]
                i += 2
            }
            return i
        }
    }
}
