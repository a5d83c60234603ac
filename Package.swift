// swift-tools-version:6.2
import Foundation
import PackageDescription

// CI builds with FUELWARDEN_WARNINGS_AS_ERRORS=1: a warning in the project's own targets fails the
// build (dependencies' warnings are not ours to fix, and SwiftPM does not show them).
let warningsAsErrors = ProcessInfo.processInfo.environment["FUELWARDEN_WARNINGS_AS_ERRORS"] == "1"
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
] + (warningsAsErrors ? [.treatAllWarnings(as: .error)] : [])

// The targets, from the pure core outwards (README, "Layout"):
//   core (pure):   FuelModel ← FuelWire, FuelLedger, FuelDetect;   FuelAsync (time limits, backoff)
//   adapters:      FuelStore (PostgreSQL) ← FuelConsole (web pages) ← FuelService (the daemon);
//                  FuelClient (API and device clients)
//   laboratory:    FuelSim, FuelEvaluate, FuelFuzz (pure) ← FuelLab (demo, replay, emulator),
//                  FuelBench, FuelFaults;   FuelPostgresFixture (throwaway PostgreSQL servers)
// The `Lab` trait (on by default) puts the laboratory's commands into the `fuelwarden` executable;
// `swift build -c release --disable-default-traits --product fuelwarden` builds the daemon alone.
let lab = TargetDependencyCondition.when(traits: ["Lab"])

let package = Package(
    name: "fuelwarden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fuelwarden", targets: ["fuelwarden"]),
        .executable(name: "fuelwarden-agent", targets: ["fuelwarden-agent"]),
        .library(name: "FuelModel", targets: ["FuelModel"]),
        .library(name: "FuelWire", targets: ["FuelWire"]),
        .library(name: "FuelLedger", targets: ["FuelLedger"]),
        .library(name: "FuelDetect", targets: ["FuelDetect"]),
        .library(name: "FuelStore", targets: ["FuelStore"]),
        .library(name: "FuelService", targets: ["FuelService"]),
        .library(name: "FuelClient", targets: ["FuelClient"]),
        .library(name: "FuelSim", targets: ["FuelSim"]),
    ],
    traits: [
        .trait(name: "Lab", description: "The laboratory commands (demo, simulate, evaluate, bench, faults, fuzz, atg-emulator) in the fuelwarden executable."),
        .default(enabledTraits: ["Lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // Pure core: no networking, no database.
        .target(name: "FuelModel", swiftSettings: swiftSettings),
        .target(name: "FuelWire", dependencies: ["FuelModel", "CYAML"], swiftSettings: swiftSettings),
        // libyaml, the YAML parser of the registry, feeds, key and agent files (Yams would bring Foundation).
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(
            name: "FuelLedger",
            dependencies: ["FuelModel", "FuelGuomi", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(name: "FuelDetect", dependencies: ["FuelModel"], swiftSettings: swiftSettings),
        // China's commercial cryptography (SM2, SM3, SM4) through OpenSSL 3's libcrypto.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "FuelGuomi", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        .target(name: "FuelAsync", swiftSettings: swiftSettings),

        // Adapters: the database, the daemon, the clients.
        .target(
            name: "FuelStore",
            dependencies: [
                "FuelModel", "FuelLedger", "FuelAsync",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        // Device feeds that run in the cloud daemon and in the station agent: the console poller,
        // with the sink they hand records to left to each.
        .target(
            name: "FuelFeeds",
            dependencies: [
                "FuelModel", "FuelWire", "FuelAsync", "FuelGuomi",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The station agent: sources at the station, a durable SQLite spool, the upload to the cloud.
        .target(
            name: "FuelAgent",
            dependencies: [
                "FuelModel", "FuelWire", "FuelFeeds", "FuelAsync", "FuelGuomi",
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // The regulator console: server-rendered pages (Mustache templates), its assets and texts.
        .target(
            name: "FuelConsole",
            dependencies: [
                "FuelModel", "FuelDetect", "FuelStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Resources/templates"), .copy("Resources/assets"), .copy("Resources/texts")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuelService",
            dependencies: [
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelAsync", "FuelConsole", "FuelGuomi", "FuelFeeds",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuelClient",
            dependencies: [
                "FuelWire", "FuelAsync",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // The laboratory: simulation, evaluation, fuzzing, demo, benchmarks, fault tests.
        .target(name: "FuelSim", dependencies: ["FuelModel", "FuelWire"], swiftSettings: swiftSettings),
        .target(name: "FuelEvaluate", dependencies: ["FuelModel", "FuelWire", "FuelDetect", "FuelSim"], swiftSettings: swiftSettings),
        .target(name: "FuelFuzz", dependencies: ["FuelModel", "FuelWire", "FuelSim", "FuelGuomi"], swiftSettings: swiftSettings),
        .target(name: "FuelPostgresFixture", swiftSettings: swiftSettings),
        .target(
            name: "FuelLab",
            dependencies: [
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelService", "FuelClient", "FuelAsync",
                "FuelSim", "FuelEvaluate", "FuelPostgresFixture", "FuelGuomi", "FuelFeeds",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuelBench",
            dependencies: [
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelService", "FuelClient", "FuelAsync", "FuelSim", "FuelEvaluate", "FuelLab",
                "FuelPostgresFixture", "FuelGuomi", "FuelAgent",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuelFaults",
            dependencies: [
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelClient", "FuelAsync", "FuelSim", "FuelEvaluate",
                "FuelLab", "FuelPostgresFixture", "FuelAgent",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // The station agent alone, for the station's machine (`fuelwarden agent` does the same).
        .executableTarget(
            name: "fuelwarden-agent",
            dependencies: [
                "FuelAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: the daemon's commands always, the laboratory's with the Lab trait.
        .executableTarget(
            name: "fuelwarden",
            dependencies: [
                "FuelModel", "FuelWire", "FuelDetect", "FuelStore", "FuelService", "FuelAgent",
                .target(name: "FuelSim", condition: lab),
                .target(name: "FuelEvaluate", condition: lab),
                .target(name: "FuelFuzz", condition: lab),
                .target(name: "FuelLab", condition: lab),
                .target(name: "FuelBench", condition: lab),
                .target(name: "FuelFaults", condition: lab),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test support.
        .target(name: "FuelFixtures", path: "Tests/FuelFixtures", swiftSettings: swiftSettings),
        .target(
            name: "FuelTestSupport",
            dependencies: [
                "FuelStore", "FuelPostgresFixture",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/FuelTestSupport",
            swiftSettings: swiftSettings
        ),

        // Tests, one target per library.
        .testTarget(
            name: "FuelModelTests",
            dependencies: ["FuelModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelWireTests",
            dependencies: [
                "FuelModel", "FuelWire", "FuelFuzz", "FuelFixtures",
                .product(name: "PropertyBased", package: "swift-property-based"),
                // An independent YAML reader to check ours against.
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "FuelGuomiTests", dependencies: ["FuelGuomi", "FuelWire", "FuelLedger", "FuelModel", "FuelTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "FuelLedgerTests",
            dependencies: [
                "FuelModel", "FuelLedger",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelDetectTests",
            dependencies: [
                "FuelModel", "FuelWire", "FuelDetect", "FuelSim", "FuelEvaluate",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelAsyncTests",
            dependencies: ["FuelAsync", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelStoreTests",
            dependencies: [
                "FuelModel", "FuelLedger", "FuelStore", "FuelSim", "FuelTestSupport", "FuelPostgresFixture",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelAgentTests",
            dependencies: [
                "FuelAgent", "FuelFeeds", "FuelLab", "FuelModel", "FuelWire", "FuelSim",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelServiceTests",
            dependencies: [
                "FuelGuomi", "FuelAgent", "FuelFeeds",
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelService", "FuelConsole", "FuelClient", "FuelLab",
                "FuelSim", "FuelEvaluate", "FuelTestSupport", "FuelFixtures", "FuelPostgresFixture",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
