import AlertBridgeConfig
import AlertBridgeCore
import AlertBridgeNotify
import AlertBridgeStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Assembles alertbridge from its parts: the HTTP routes and the two background
/// services (escalation engine, notification dispatcher) around one store.
///
/// Tests build one with a temporary store and a manual clock, call ``router()`` and
/// drive the services with their `tick()`; `alertbridge serve` runs ``application(host:port:logger:onServerRunning:)``.
public struct AlertBridgeApplication: Sendable {
    public var store: any IncidentStore
    public var rules: RuleSet
    public var policies: [String: EscalationPolicy]
    public var connectors: [String: any Connector]
    /// Bearer tokens; none means protected mode (loopback only, enforced by `serve`).
    public var tokens: [TokenConfig]
    public var clock: any WallClock
    public var metrics: ServerMetrics
    public var limits: IngestLimits
    public var maxBodyBytes: Int
    public var backoff: Backoff
    /// How long a claimed page is the dispatcher's alone (``Dispatcher/lease(outlasting:)``).
    public var deliveryLease: Duration
    /// Monitors that must ping, from `heartbeats:` in alertbridge.yaml.
    public var heartbeats: [Heartbeat]
    /// The zone pages give their times in, beside UTC (`time_zone:`).
    public var timeZone: TimeZone
    /// How long resolved incidents and ended silences are kept (`retention:`); `nil`: for good.
    public var retention: Duration?
    /// Signalled by writes that make escalation work due earlier than the engine expects.
    public let escalationWakeup = Wakeup()
    /// Signalled by writes that put pages in the outbox.
    public let deliveryWakeup = Wakeup()
    /// Signalled by a heartbeat's first ping, and by a ping whose recovery failed.
    public let heartbeatWakeup = Wakeup()
    /// When this alertbridge started, for the graces after a start, one time for the
    /// services and the API alike: heartbeats that pinged before it
    /// (``Heartbeat/expiry(of:startedAt:)``), incidents that fell quiet while it was stopped
    /// (``EscalationPlanner/autoResolveGrace``) and steps that fell due meanwhile
    /// (``EscalationPlanner/restartGrace``).
    public let startedAt: Timestamp

    public init(store: any IncidentStore, rules: RuleSet, policies: [String: EscalationPolicy] = [:],
                connectors: [String: any Connector] = ["console": ConsoleConnector()], tokens: [TokenConfig] = [],
                clock: any WallClock = SystemClock(), metrics: ServerMetrics = ServerMetrics(),
                limits: IngestLimits = IngestLimits(), maxBodyBytes: Int = 1 << 20, backoff: Backoff = Backoff(),
                deliveryLease: Duration = Dispatcher.lease(outlasting: .seconds(20)), heartbeats: [Heartbeat] = [],
                timeZone: TimeZone = PageText.utc, retention: Duration? = nil) {
        self.store = store
        self.timeZone = timeZone
        self.retention = retention
        self.rules = rules
        self.policies = policies
        self.connectors = connectors
        self.tokens = tokens
        self.clock = clock
        self.metrics = metrics
        self.limits = limits
        self.maxBodyBytes = maxBodyBytes
        self.backoff = backoff
        self.deliveryLease = deliveryLease
        self.heartbeats = heartbeats
        startedAt = clock.now()
    }

    public func router() -> Router<AppRequestContext> {
        // HEAD wherever GET is: a load balancer's health check is often a HEAD of /healthz.
        let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
        let authenticator = TokenAuthenticator(tokens: tokens, limiter: RateLimiter(clock: clock))
        let allowed = AllowedMethods()
        router.middlewares.add(JSONErrorMiddleware(allowed: allowed))
        router.middlewares.add(BrowserGuard(loopbackHostsOnly: tokens.isEmpty))
        let ingestor = ingestor()
        let ingest = router.group().add(middleware: AuthMiddleware(scope: .ingest, authenticator: authenticator))
        let refusals = IngestRefusalCounter<AppRequestContext>(rejected: metrics.rejected)
        IngestRoutes(ingestor: ingestor, maxBodyBytes: maxBodyBytes).register(on: ingest.group().add(middleware: refusals))
        let operate = router.group().add(middleware: AuthMiddleware(scope: .operate, authenticator: authenticator))
        HeartbeatRoutes(ingestor: ingestor, store: store, heartbeats: heartbeats.byName,
                        clock: clock, startedAt: startedAt, monitorWakeup: heartbeatWakeup).register(ping: ingest, list: operate)
        IncidentRoutes(store: store, clock: clock, escalation: escalationContext, retention: retention, wakeups: [escalationWakeup, deliveryWakeup]).register(on: operate)
        SilenceRoutes(store: store, clock: clock, escalationWakeup: escalationWakeup).register(on: operate)
        PagerDutyRoutes(ingestor: ingestor, store: store, authenticator: authenticator, maxBodyBytes: maxBodyBytes)
            .register(on: router.group().add(middleware: refusals))
        HealthRoutes(store: store, metrics: metrics).register(on: router)
        allowed.record(router.routes)
        return router
    }

    public func engine(logger: Logger) -> EscalationEngine {
        EscalationEngine(store: store, clock: clock, wakeup: escalationWakeup, deliveries: deliveryWakeup,
                         metrics: metrics, logger: logger, context: escalationContext)
    }

    /// What escalation goes by: one for the engine and the operator API alike.
    var escalationContext: EscalationContext {
        EscalationContext(startedAt: startedAt, rules: rules, policies: policies)
    }

    func ingestor() -> Ingestor {
        Ingestor(rules: rules, policies: policies, store: store, limits: limits, metrics: metrics, clock: clock,
                 wakeups: [escalationWakeup, deliveryWakeup])
    }

    public func heartbeatMonitor(logger: Logger) -> HeartbeatMonitor {
        HeartbeatMonitor(store: store, ingestor: ingestor(), heartbeats: heartbeats, clock: clock, wakeup: heartbeatWakeup,
                         logger: logger, startedAt: startedAt)
    }

    /// The retention service, when `retention:` is set.
    public func retentionService(logger: Logger) -> Retention? {
        retention.map { Retention(store: store, clock: clock, age: $0, metrics: metrics, logger: logger) }
    }

    public func dispatcher(logger: Logger) -> Dispatcher {
        Dispatcher(store: store, connectors: connectors, clock: clock, wakeup: deliveryWakeup, backoff: backoff,
                   logger: logger, metrics: metrics.factory, lease: deliveryLease, timeZone: timeZone, startedAt: startedAt)
    }

    /// - Parameter onServerRunning: called with the bound port once listening (port 0 picks a free one).
    public func application(
        host: String, port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let listening = ListeningGate()
        let background: [any Service] = [engine(logger: logger), dispatcher(logger: logger), heartbeatMonitor(logger: logger)]
            + (retentionService(logger: logger).map { [$0] } ?? [])
        return Application(
            router: router(),
            server: .http1(configuration: ConnectionLimits.http1),
            configuration: .init(address: .hostname(host, port: port), serverName: "alertbridge",
                                 availableConnectionsDelegate: ConnectionLimits.Cap(ConnectionLimits.maxConnections, logger: logger)),
            services: background.map { AfterListening(gate: listening, service: $0) },
            onServerRunning: { channel in
                listening.open()
                await onServerRunning(channel.localAddress?.port ?? port)
            },
            logger: logger)
    }
}
