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
    ],
    targets: [
        // C shims: each C library is a system-library target wrapped by exactly one Swift module.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "BLAS", dependencies: ["COpenBLAS"], swiftSettings: swiftSettings),
        // Numeric kernels (im2col, Winograd, pooling, parallel loops) over flat Float buffers.
        .target(name: "Tensor", dependencies: ["BLAS"], swiftSettings: swiftSettings),
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
        .target(name: "Reports", swiftSettings: swiftSettings),
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
        .executableTarget(
            name: "BoundaryCLI",
            dependencies: [
                "NeuralNet", "Tensor", "BLAS", "Imaging", "Training", "DemoData", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "BoundaryAPITests", dependencies: [
            "BoundaryAPI", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: swiftSettings),
        .testTarget(name: "BLASTests", dependencies: ["BLAS"], swiftSettings: swiftSettings),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "BLAS"], swiftSettings: swiftSettings),
        .testTarget(name: "DurableIOTests", dependencies: ["DurableIO"], swiftSettings: swiftSettings),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Tensor"], swiftSettings: swiftSettings),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"], swiftSettings: swiftSettings),
        .testTarget(name: "DemoDataTests", dependencies: ["DemoData"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NeuralNet", "Imaging", "Tensor", "Reports"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Tensor"], swiftSettings: swiftSettings),
    ]
)
