#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Gives back the pages of alertbridge's own code and constants once it listens: what runs
/// from then on reads its pages back, the rest stays on disk.
///
/// Start-up runs code that never runs again (the configuration's parsers, the store's
/// checks and migrations, the CLI), and the kernel maps a binary's file around each page
/// fault in 64 KiB blocks, so about 25 MiB of the binary stayed resident through an alert
/// storm that runs about 2 MiB of its code (bench/README.md, "Kept: start-up's code given
/// back"). These are clean pages of the file, so nothing is lost: a path that first runs
/// later (an escalation's page text, an operator's command) reads its code back once.
enum StartupCode {
    /// Pages out the executable's mappings that are not writable (`MADV_PAGEOUT`, Linux
    /// 5.4 and later; an older kernel refuses the advice, and nothing changes).
    static func release() {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return }
        release(mappingsOf: executable)
    }

    /// Pages out this process's mappings of the file at `path` that are not writable.
    static func release(mappingsOf path: String) {
        for range in mappings(of: path) {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), range.count, MADV_PAGEOUT)
        }
    }

    /// The address ranges of this process's mappings of `path` that are read-only or executable.
    private static func mappings(of path: String) -> [Range<Int>] {
        // Read to its end: a `/proc` file's size says 0, and `String(contentsOfFile:)` returned
        // only its first 4 KiB (of a small Swift program's 12 KB, of a test process's 33 KB).
        guard let data = try? FileHandle(forReadingAtPath: "/proc/self/maps")?.readToEnd() else { return [] }
        let maps = String(decoding: data, as: UTF8.self)
        // `start-end perms offset dev inode path`; the path may hold spaces (and ` (deleted)`).
        return maps.split(separator: "\n").compactMap { line -> Range<Int>? in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1].hasPrefix("r"), !fields[1].contains("w"),
                  fields[5].trimmingCharacters(in: .whitespaces) == path else { return nil }
            let bounds = fields[0].split(separator: "-").compactMap { Int($0, radix: 16) }
            guard bounds.count == 2, bounds[0] < bounds[1] else { return nil }
            return bounds[0]..<bounds[1]
        }
    }
}
