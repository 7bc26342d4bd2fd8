import NIOCore

/// A NIO event loop as a Swift `TaskExecutor`.
///
/// Work on a leased connection prefers that connection's loop (``PostgresStore``'s
/// `withConnection`): each statement is then written, and its reply read and handed
/// back, on the one thread, instead of hopping to the loop and back to Swift's global
/// pool for every round trip. Measured in bench/README.md, "PostgreSQL".
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
