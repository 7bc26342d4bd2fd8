// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "alertbridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "alertbridge", targets: ["alertbridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already under Hummingbird; named so `serve` can read a failed bind's errno (NIOCore.IOError).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        // Already under Hummingbird; named for the HTTP parts its channel handlers see (NIOHTTPTypes).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .target(name: "AlertBridgeCore"),
        .target(name: "AlertBridgeConfig", dependencies: [
            "AlertBridgeCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "AlertBridgeStore", dependencies: [
            "AlertBridgeCore",
            .product(name: "SQLiteNIO", package: "sqlite-nio"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            // Its pool's error, to tell "connecting keeps failing" from a cancelled call.
            .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            // Connection failures at start, in an operator's words.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // libcurl does the connectors' transport (SMTP with STARTTLS/AUTH, HTTPS webhooks).
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "AlertBridgeNotify", dependencies: [
            "AlertBridgeCore", "AlertBridgeStore", "CCurl",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "AlertBridgeServer", dependencies: [
            "AlertBridgeCore", "AlertBridgeConfig", "AlertBridgeStore", "AlertBridgeNotify",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "alertbridge", dependencies: [
            "AlertBridgeCore", "AlertBridgeConfig", "AlertBridgeServer", "AlertBridgeNotify",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "alertbridge-bench", dependencies: [
            "AlertBridgeCore", "AlertBridgeStore", "AlertBridgeServer", "AlertBridgeNotify",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "bench/Sources/alertbridge-bench"),
        // What the tests start stops when the test process is gone (see its doc comment).
        .target(name: "TestProcesses", path: "Tests/TestProcesses"),
        .testTarget(name: "AlertBridgeCoreTests", dependencies: ["AlertBridgeCore"]),
        .testTarget(name: "AlertBridgeConfigTests", dependencies: ["AlertBridgeConfig"]),
        .testTarget(name: "AlertBridgeStoreTests", dependencies: ["AlertBridgeStore", "TestProcesses"]),
        .testTarget(name: "AlertBridgeNotifyTests", dependencies: [
            "AlertBridgeNotify", "TestProcesses",
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .testTarget(name: "AlertBridgeServerTests", dependencies: [
            "AlertBridgeServer", "AlertBridgeNotify", "AlertBridgeConfig",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            // A connection's handlers driven byte by byte on a clock the test moves.
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        ]),
        .testTarget(name: "AlertBridgeEndToEndTests", dependencies: [
            "AlertBridgeServer", "AlertBridgeStore", "AlertBridgeConfig", "AlertBridgeCore", "alertbridge", "TestProcesses",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
