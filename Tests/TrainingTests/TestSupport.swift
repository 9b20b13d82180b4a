import Foundation
import Imaging
import NeuralNet
import Tensor
@testable import Training

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("boundary-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Small images whose class is written in their structure: class 0 horizontal bars, class 1
/// vertical bars, class 2 a bright centre square; colours and phases vary with the seed.
func patternImage(label: Int, size: Int, seed: UInt64) -> RGBImage {
    var rng = SeededGenerator(seed: seed)
    let phase = Int(rng.next() % 4), tint = (UInt8(rng.next() % 80), UInt8(rng.next() % 80), UInt8(rng.next() % 80))
    var pixels = [UInt8](repeating: 0, count: size * size * 3)
    for y in 0..<size {
        for x in 0..<size {
            let on: Bool
            switch label {
            case 0: on = (y + phase) / 2 % 2 == 0
            case 1: on = (x + phase) / 2 % 2 == 0
            default: on = abs(x - size / 2) < size / 4 && abs(y - size / 2) < size / 4
            }
            let noise = UInt8(rng.next() % 30)
            let base: UInt8 = on ? 200 : 40
            pixels[(y * size + x) * 3] = base &+ noise / 2 &+ tint.0 / 4
            pixels[(y * size + x) * 3 + 1] = base &+ noise / 3 &+ tint.1 / 4
            pixels[(y * size + x) * 3 + 2] = base &+ noise / 4 &+ tint.2 / 4
        }
    }
    return RGBImage(width: size, height: size, pixels: pixels)!
}

/// Writes an ImageFolder tree of pattern images: root/split/class/i.png.
func writePatternFolder(at root: URL, splits: [String: Int], size: Int = 16) throws {
    let names = ["bars-h", "bars-v", "square"]
    for (split, perClass) in splits {
        for (label, name) in names.enumerated() {
            let folder = root.appendingPathComponent(split).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<perClass {
                let seed = UInt64(label * 10_000 + i) &+ UInt64(split.hashValue & 0xffff)
                let png = try PNGEncoder.encode(patternImage(label: label, size: size, seed: seed))
                try Data(png).write(to: folder.appendingPathComponent("\(i).png"))
            }
        }
    }
}

/// A small network for pattern images.
func tinySpec(labels: [String], size: Int = 16) -> ModelSpec {
    ModelSpec(name: "tiny", input: InputSpec(height: size, width: size),
              layers: [.conv(out: 8, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                       .maxPool(kernel: 2, stride: 2, padding: 0),
                       .conv(out: 16, kernel: 3, stride: 1, padding: 1, bias: false), .batchNorm, .relu,
                       .globalAvgPool, .dense(out: nil)],
              labels: labels)
}
