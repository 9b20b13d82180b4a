// swift-tools-version: 6.0
import PackageDescription

/// One set of compiler settings for every Swift target: Swift 6 language mode everywhere.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Boundary",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "boundary", targets: ["BoundaryCLI"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Pinned to a minor version: BoundaryHTTP2 hooks into its per-stream pipeline.
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", .upToNextMinor(from: "2.9.0")),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.36.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.3.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
    ],
    targets: [
        // C shims: each C library is a system-library target wrapped by exactly one Swift module.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // cpuid/xgetbv: the instruction sets this CPU and OS support (kernel dispatch, BLAS core choice).
        .target(name: "CCPUID"),
        .target(name: "BLAS", dependencies: ["COpenBLAS", "CCPUID"], swiftSettings: swiftSettings),
        // The engine's own SIMD kernels (packed GEMM, fused Winograd F(4×4)), one template compiled at
        // 4, 8 and 16 lanes and picked at run time by cpuid. Optimised in debug builds too, so the
        // test suite's convolutions do not crawl. Every hot loop is written in explicit vectors, so
        // clang's auto-vectoriser is off: at 16 lanes it turned the short scalar edge loops (a GEMM
        // tile's last columns, a row's tail) into masked AVX-512 code that ran them 5–10× slower on
        // an AMD Zen 5 (a 64-channel Winograd layer at 56×56: 6.3 ms of GEMM against 0.85 ms).
        .target(name: "CKernels", dependencies: ["CCPUID"],
                cSettings: [.unsafeFlags(["-O2", "-fno-vectorize", "-fno-slp-vectorize"])]),
        // glibc's allocator settings (mallopt, malloc_trim), which Swift's Glibc module lacks.
        .target(name: "CMalloc"),
        // Numeric kernels (im2col, Winograd, pooling, parallel loops) over flat Float buffers.
        .target(name: "Tensor", dependencies: ["BLAS", "CKernels"], swiftSettings: swiftSettings),
        // Exact nearest-neighbour search over L2-normalised embeddings (sgemm + bounded heaps).
        .target(name: "SimilaritySearch", dependencies: ["BLAS", "Tensor"], swiftSettings: swiftSettings),
        // Crash-safe file replacement (temporary name, fsync, rename, fsync directory).
        .target(name: "DurableIO", swiftSettings: swiftSettings),
        // The safetensors checkpoint format, readable and writable by PyTorch/NumPy users.
        .target(name: "SafeTensors", dependencies: ["DurableIO"], swiftSettings: swiftSettings),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Layers, losses, optimizers, model specs, checkpoints and the inference engine.
        .target(name: "NeuralNet", dependencies: ["Tensor", "BLAS", "SafeTensors"], swiftSettings: swiftSettings),
        // JPEG/PNG decoding and encoding, preprocessing into NCHW tensors, augmentation.
        .target(name: "Imaging", dependencies: ["CTurboJPEG", "CPNG", "Tensor"], swiftSettings: swiftSettings),
        // The built-in procedural demo dataset (classes in confusable pairs with a real decision boundary).
        .target(name: "DemoData", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Classification metrics, PCA and the self-contained HTML training report.
        // Optimised in debug builds too (like CKernels): the report's t-SNE map is O(N log N)
        // per step over 1,000 steps, which unoptimised code would make the test suite wait for.
        .target(name: "Reports", swiftSettings: swiftSettings + [.unsafeFlags(["-O"])]),
        // Datasets (ImageFolder, decoded cache, prefetching batches), the training loop, model directories.
        .target(name: "Training", dependencies: ["NeuralNet", "Imaging", "Tensor", "SafeTensors", "DurableIO", "DemoData", "Reports"],
                swiftSettings: swiftSettings),
        // The gRPC API: code generated from Protos/ by scripts/generate-protos (committed), and the
        // descriptor set that server reflection serves.
        .target(
            name: "BoundaryAPI",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [.copy("Resources/boundary.pb")],
            swiftSettings: swiftSettings
        ),
        // Durable feedback storage behind a protocol; SQLite (GRDB, WAL, synchronous=FULL) by default.
        .target(name: "FeedbackStore", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // The feedback store on PostgreSQL (postgres-nio), for deployments with several replicas:
        // the same protocols and promises as the SQLite store, shared by every process.
        .target(name: "PostgresStore", dependencies: [
            "FeedbackStore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        // The serving runtime: the on-disk model registry, immutable model snapshots swapped
        // atomically, decode workers and the dynamic batcher. No gRPC, no network, no feedback.
        .target(
            name: "Serving",
            dependencies: [
                "NeuralNet", "Imaging", "Training", "Tensor", "DurableIO", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The learning loop: feedback intake (validation, quotas, group commit), sample states, the
        // training-set builder, screening, the promotion gate, quarantine, promotion with lineage,
        // the retrain schedule, store upkeep, and the review listing reviewers lasso from. The only module that knows FeedbackStore and DemoData
        // among the server's; it sits between Serving and BoundaryServer.
        .target(
            name: "Retraining",
            dependencies: [
                "Serving", "FeedbackStore", "DemoData", "Training", "NeuralNet", "Imaging", "Tensor", "Reports",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Search by picture and by word over every predicted image; learned queries; its upkeep service.
        .target(
            name: "ImageSearch",
            dependencies: [
                "Retraining", "Serving", "FeedbackStore", "SimilaritySearch", "Training", "Imaging", "Tensor",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The gRPC services (thin proto <-> domain mapping), auth, health, reflection, and the one
        // builder that assembles a server for `boundary serve` and for the tests. Transport-agnostic.
        .target(
            name: "BoundaryServer",
            dependencies: [
                "Serving", "Retraining", "ImageSearch", "BoundaryAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A typed Swift client for the Boundary API over any gRPC client transport.
        .target(
            name: "BoundaryClient",
            dependencies: [
                "BoundaryAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP/2 transport as the server runs it: admission from each message's length prefix
        // (size limit, in-flight memory budget) before its body is read, and TLS files checked at
        // start-up. Only the executable (and the tests) depend on it.
        .target(
            name: "BoundaryHTTP2",
            dependencies: [
                "BoundaryServer",
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // The committed demo model, shipped as a resource so `boundary serve` finds it from anywhere.
        // ONNX's schema, generated from ThirdParty/onnx/onnx.proto by scripts/generate-protos (committed).
        .target(name: "ONNXFormat", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: swiftSettings),
        // `boundary import`: an ONNX export of a convolutional classifier → a Boundary model directory.
        .target(name: "ModelImport", dependencies: ["ONNXFormat", "NeuralNet", "Tensor", "SafeTensors", "Training",
                                                    .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: swiftSettings),
        .target(name: "DefaultModel", resources: [.copy("scene-s-demo")], swiftSettings: swiftSettings),
        // The HTTP/JSON API: server types generated from openapi/boundary.yaml by
        // scripts/generate-openapi (committed), and thin handlers mapping them onto the same domain
        // operations, bearer roles and error messages as the gRPC services. No HTTP server here.
        .target(
            name: "BoundaryHTTPAPI",
            dependencies: [
                "BoundaryServer", "ImageSearch", "Serving", "Retraining", "Training",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP server (Hummingbird 2): the API's routes, the review web app embedded in the
        // binary, /metrics, and security headers. Only the executable (and tests) depend on it.
        .target(
            name: "BoundaryWeb",
            dependencies: [
                "BoundaryHTTPAPI", "BoundaryServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web app's files are embedded by scripts/embed-web-assets, not bundled beside the binary.
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "BoundaryCLI",
            dependencies: [
                "NeuralNet", "Tensor", "BLAS", "Imaging", "Training", "DemoData", "Reports",
                "Serving", "Retraining", "ImageSearch", "BoundaryServer", "BoundaryHTTP2", "BoundaryClient", "BoundaryAPI", "BoundaryWeb",
                "FeedbackStore", "PostgresStore", "DefaultModel", "SimilaritySearch", "ModelImport", "SafeTensors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Tiny models, data directories and encoded images for the serving and server tests.
        .target(name: "BoundaryTestSupport", dependencies: ["NeuralNet", "Imaging", "Training", "DemoData", "Tensor"],
                path: "Tests/BoundaryTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ServingTests", dependencies: [
            "Serving", "BoundaryTestSupport", "NeuralNet", "Imaging", "Training", "DemoData",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BoundaryServerTests", dependencies: [
            "BoundaryServer", "BoundaryHTTP2", "BoundaryClient", "DefaultModel", "BoundaryAPI", "Serving", "Retraining", "BoundaryTestSupport", "NeuralNet", "Imaging", "Training", "DemoData",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "RetrainingTests", dependencies: [
            "Retraining", "Serving", "BoundaryTestSupport", "FeedbackStore", "NeuralNet", "Imaging", "Training", "DemoData", "Tensor",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BoundaryHTTP2Tests", dependencies: [
            "BoundaryHTTP2", "BoundaryServer",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "ImageSearchTests", dependencies: [
            "ImageSearch", "Retraining", "Serving", "FeedbackStore", "SimilaritySearch", "BoundaryTestSupport", "NeuralNet", "Imaging",
            "Training", "DemoData",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], swiftSettings: swiftSettings),
        // One suite over both stores (SQLite, and PostgreSQL on a throw-away cluster), so neither drifts.
        .testTarget(name: "FeedbackStoreTests", dependencies: [
            "FeedbackStore", "PostgresStore", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BoundaryWebTests", dependencies: [
            "BoundaryWeb", "BoundaryServer", "BoundaryAPI", "BoundaryClient", "Serving", "Retraining", "BoundaryTestSupport", "DemoData",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BoundaryAPITests", dependencies: [
            "BoundaryAPI", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BLASTests", dependencies: ["BLAS"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "BLAS", "CKernels"], swiftSettings: swiftSettings),
        .testTarget(name: "SimilaritySearchTests", dependencies: ["SimilaritySearch", "Tensor"], swiftSettings: swiftSettings),
        .testTarget(name: "DurableIOTests", dependencies: ["DurableIO"], swiftSettings: swiftSettings),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor"], swiftSettings: swiftSettings),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"], swiftSettings: swiftSettings),
        .testTarget(name: "DemoDataTests", dependencies: ["DemoData"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "DefaultModel", "NeuralNet", "Imaging", "Tensor", "Reports"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ModelImportTests", dependencies: ["ModelImport", "ONNXFormat", "NeuralNet", "SafeTensors", "Training",
                                                            .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                    resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Tensor", "SafeTensors"], swiftSettings: swiftSettings),
    ]
)
