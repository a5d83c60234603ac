// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "fuelwarden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fuelwarden", targets: ["fuelwarden"]),
        .library(name: "FuelModel", targets: ["FuelModel"]),
        .library(name: "FuelWire", targets: ["FuelWire"]),
        .library(name: "FuelLedger", targets: ["FuelLedger"]),
        .library(name: "FuelDetect", targets: ["FuelDetect"]),
        .library(name: "FuelStore", targets: ["FuelStore"]),
        .library(name: "FuelService", targets: ["FuelService"]),
        .library(name: "FuelSim", targets: ["FuelSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Pure core: no networking, no database.
        .target(name: "FuelModel", swiftSettings: swiftSettings),
        .target(name: "FuelWire", dependencies: ["FuelModel", .product(name: "Yams", package: "Yams")], swiftSettings: swiftSettings),
        .target(
            name: "FuelLedger",
            dependencies: ["FuelModel", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(name: "FuelDetect", dependencies: ["FuelModel"], swiftSettings: swiftSettings),
        .target(name: "FuelSim", dependencies: ["FuelModel", "FuelWire"], swiftSettings: swiftSettings),
        .target(name: "FuelEvaluate", dependencies: ["FuelModel", "FuelWire", "FuelDetect", "FuelSim"], swiftSettings: swiftSettings),
        .target(name: "FuelFuzz", dependencies: ["FuelModel", "FuelWire", "FuelSim"], swiftSettings: swiftSettings),

        // Adapters.
        .target(
            name: "FuelStore",
            dependencies: [
                "FuelModel", "FuelLedger", "FuelDetect",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Migrations")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuelService",
            dependencies: [
                "FuelModel", "FuelWire", "FuelLedger", "FuelDetect", "FuelStore", "FuelSim", "FuelEvaluate",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuelwarden",
            dependencies: [
                "FuelService", "FuelFuzz", "FuelEvaluate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests.
        .target(
            name: "FuelTestSupport",
            dependencies: ["FuelStore", .product(name: "PostgresNIO", package: "postgres-nio")],
            path: "Tests/FuelTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelModelTests",
            dependencies: ["FuelModel", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelWireTests",
            dependencies: ["FuelWire", "FuelFuzz", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelLedgerTests",
            dependencies: ["FuelLedger", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelDetectTests",
            dependencies: ["FuelDetect", "FuelSim", "FuelEvaluate", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelStoreTests",
            dependencies: ["FuelStore", "FuelTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuelServiceTests",
            dependencies: [
                "FuelService", "FuelTestSupport", "FuelSim", "FuelEvaluate",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
