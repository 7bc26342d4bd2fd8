import Synchronization

/// Resumes a continuation with the first result given; later ones are dropped. For a
/// call raced against something that says it will not answer in time (a lock another
/// process holds, a connection that closed under a query).
final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

    var isGiven: Bool { continuation.withLock { $0 == nil } }

    func give(_ result: Result<T, any Error>) {
        continuation.withLock { c in defer { c = nil }; return c }?.resume(with: result)
    }
}
