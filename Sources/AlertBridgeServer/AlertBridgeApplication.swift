import AlertBridgeCore
import AlertBridgeStore
import Hummingbird
import Logging

/// Assembles the HTTP application from its parts. Tests call ``router(_:)`` with a
/// temporary store and a manual clock; `alertbridge serve` calls ``application(_:host:port:logger:)``.
public struct AlertBridgeApplication: Sendable {
    public var store: any IncidentStore
    public var rules: RuleSet
    public var clock: any WallClock
    public var metrics: ServerMetrics
    public var limits: IngestLimits
    public var maxBodyBytes: Int

    public init(store: any IncidentStore, rules: RuleSet, clock: any WallClock = SystemClock(),
                metrics: ServerMetrics = ServerMetrics(), limits: IngestLimits = IngestLimits(),
                maxBodyBytes: Int = 1 << 20) {
        self.store = store
        self.rules = rules
        self.clock = clock
        self.metrics = metrics
        self.limits = limits
        self.maxBodyBytes = maxBodyBytes
    }

    public func router() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.middlewares.add(JSONErrorMiddleware())
        let committer = GroupCommitter(store: store, clock: clock)
        let ingestor = Ingestor(rules: rules, committer: committer, limits: limits, metrics: metrics, clock: clock)
        IngestRoutes(ingestor: ingestor, maxBodyBytes: maxBodyBytes).register(on: router)
        IncidentRoutes(store: store, clock: clock).register(on: router)
        HealthRoutes(store: store, metrics: metrics).register(on: router)
        return router
    }

    /// - Parameter onServerRunning: called with the bound port once listening (port 0 picks a free one).
    public func application(
        host: String, port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "alertbridge"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
