import ArgumentParser

/// `alertbridge-bench`: the pieces of `bench/run` that need Swift — the stack's
/// ceiling server and the escalation lateness benchmark.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alertbridge-bench",
        abstract: "Benchmarks for alertbridge (driven by bench/run).",
        subcommands: [Ceiling.self, EscalationLateness.self, PageLatency.self])
}
