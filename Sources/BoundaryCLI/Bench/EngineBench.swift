import ArgumentParser
import BLAS
import NeuralNet
import Tensor

/// `boundary bench engine`: the CNN engine against the machine's own sgemm ceiling.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "sgemm ceiling, per-layer conv GFLOP/s, scene-s inference and training, resnet18 at batch 1 and 32."
    )

    @Option(help: "Thread counts to measure (comma-separated).")
    var threads: String = "1,2"

    @Option(help: "Seconds per timed round (5 rounds, median reported).")
    var roundSeconds: Double = 0.25

    @Option(help: "Sections to run (comma-separated): sgemm, layers, infer, train, resnet18, scene-s-layers (every algorithm on each of its layers at batch 32), resnet18-layers (the same at batch 1; neither in the default); 'cpu' prints only the hardware lines.")
    var only: String = "sgemm,layers,infer,train,resnet18"

    @Flag(help: "Time with process CPU time instead of wall time (single-thread figures on a busy machine).")
    var cpuTime = false

    func run() throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        Measure.useProcessCPUTime = cpuTime
        let sections = Set(only.split(separator: ",").map { String($0) })
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        print("# \(OpenBLASCore.summary)")
        if let better = OpenBLASCore.better(than: BLAS.coreName, on: .current) {
            print("# warning: OpenBLAS runs \(BLAS.coreName), below this CPU's level; \(better) would be faster")
        }
        print("# OpenBLAS \(BLAS.coreName), \(BLAS.processorCount) cores; \(BLAS.configuration)")
        print("# \(KernelLevel.summary)")
        if sections == ["cpu"] { return }
        var ceiling: [Int: Double] = [:]
        for t in threadCounts where sections.contains("sgemm") || sections.contains("layers") {
            ceiling[t] = sgemmCeiling(threads: t)
            report("sgemm 1024x1024x1024 threads=\(t)", ceiling[t]!, "GFLOP/s")
        }
        BLAS.threads = 1  // the engine parallelises above BLAS
        let labels = (0..<10).map { "class\($0)" }
        let network = try Network(spec: .sceneS(labels: labels), threads: 1, seed: 1)
        for t in threadCounts {
            let tuned32 = network.inferenceModel().tuned(batch: 32, threads: t)
            if sections.contains("layers") { convolutionFigures(tuned32, batch: 32, threads: t, ceiling: ceiling[t]!) }
            if sections.contains("scene-s-layers") { everyAlgorithmFigures(tuned32, name: "scene-s", batch: 32, threads: t) }
            if sections.contains("infer") {
                inferenceFigures(tuned32, name: "scene-s", batch: 32, threads: t)
                inferenceFigures(network.inferenceModel().tuned(batch: 1, threads: t), name: "scene-s", batch: 1, threads: t)
            }
        }
        if sections.contains("train") {
            for t in threadCounts { try trainingFigures(labels: labels, threads: t) }
        }
        if sections.contains("resnet18") || sections.contains("resnet18-layers") {
            let resnet = try Network(spec: .resnet18(labels: (0..<1000).map { "c\($0)" }), threads: 1, seed: 2)
            for t in threadCounts where sections.contains("resnet18-layers") {
                everyAlgorithmFigures(resnet.inferenceModel().tuned(batch: 1, threads: t), name: "resnet18", batch: 1, threads: t)
            }
            for t in threadCounts where sections.contains("resnet18") {
                inferenceFigures(resnet.inferenceModel().tuned(batch: 1, threads: t), name: "resnet18", batch: 1, threads: t)
                inferenceFigures(resnet.inferenceModel().tuned(batch: 32, threads: t), name: "resnet18", batch: 32, threads: t)
            }
        }
    }

    /// The machine's single-precision GEMM rate with OpenBLAS using `threads` threads.
    func sgemmCeiling(threads: Int) -> Double {
        BLAS.threads = threads
        let n = 1024
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        a.fill(0.5); b.fill(0.25)
        let seconds = Measure.secondsPerCall(minimumSeconds: roundSeconds) {
            BLAS.sgemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
        }
        return 2 * Double(n * n * n) / seconds / 1e9
    }

    func convolutionFigures(_ model: InferenceModel, batch: Int, threads: Int, ceiling: Double) {
        let pool = ComputePool(threads: threads)
        let scratch = (0..<threads).map { _ in ScratchBuffer() }
        for (index, conv) in model.convolutions.enumerated() {
            let g = conv.geometry
            let seconds = secondsPerConvolution(g, conv.algorithm, batch: batch, pool: pool, scratch: scratch)
            // Effective rate: direct-convolution FLOPs over time, so Winograd can exceed the ceiling.
            let gflops = g.flops(batch: batch) / seconds / 1e9
            let name = "scene-s conv\(index + 1) \(g) \(conv.algorithm.rawValue) batch=\(batch) threads=\(threads)"
            report(name, gflops, "GFLOP/s")
            report(name + " vs sgemm", gflops / ceiling, "x", digits: 2)
        }
    }

    /// Every distinct convolution shape of `model`, timed with every algorithm that can run it:
    /// milliseconds per call, the effective GFLOP/s, how often the shape occurs and which algorithm
    /// the tuner chose. Where a network loses to a peer, this says which layers and by how much.
    func everyAlgorithmFigures(_ model: InferenceModel, name: String, batch: Int, threads: Int) {
        let pool = ComputePool(threads: threads)
        let scratch = (0..<threads).map { _ in ScratchBuffer() }
        var order: [String] = [], shapes: [String: (geometry: ConvGeometry, chosen: ConvolutionAlgorithm, count: Int)] = [:]
        for conv in model.convolutions {
            let key = "\(conv.geometry)"
            if let known = shapes[key] { shapes[key]!.count = known.count + 1 } else {
                order.append(key)
                shapes[key] = (conv.geometry, conv.algorithm, 1)
            }
        }
        for key in order {
            let (g, chosen, count) = shapes[key]!
            for algorithm in ConvolutionAlgorithm.candidates(for: g) {
                let seconds = secondsPerConvolution(g, algorithm, batch: batch, pool: pool, scratch: scratch)
                let mark = algorithm == chosen ? " (tuner's choice)" : ""
                let label = "\(name) layer \(g) ×\(count) \(algorithm.rawValue) batch=\(batch) threads=\(threads)"
                report(label + mark, seconds * 1e3, "ms", digits: 3)
                report(label, g.flops(batch: batch) / seconds / 1e9, "GFLOP/s")
            }
        }
    }

    /// Seconds per call of one convolution with `algorithm` (random-ish input and weights, a bias and
    /// a fused ReLU), prepared and run as the tuner runs its candidates.
    func secondsPerConvolution(_ g: ConvGeometry, _ algorithm: ConvolutionAlgorithm, batch: Int,
                               pool: ComputePool, scratch: [ScratchBuffer]) -> Double {
        let input = FloatBuffer(count: g.inChannels * batch * g.inputPlane)
        let output = FloatBuffer(count: g.outChannels * batch * g.outputPlane)
        for i in 0..<input.count { input[i] = Float(i % 13) * 0.01 }
        let weight = (0..<g.outChannels * g.patchSize).map { Float($0 % 7) * 0.01 }
        let bias = (0..<g.outChannels).map { Float($0 % 5) * 0.01 }
        let conv = FusedConvolution(g, algorithm: algorithm, weight: weight, bias: bias, relu: true)
        return Measure.secondsPerCall(minimumSeconds: roundSeconds / 2) {
            conv.run(batch: batch, input: input.pointer, output: output.pointer, pool: pool, scratch: scratch)
        }
    }

    func inferenceFigures(_ model: InferenceModel, name: String, batch: Int, threads: Int) {
        // What the tuner chose for each convolution, so per-layer differences between runs are visible.
        var chosen: [String: Int] = [:]
        for conv in model.convolutions { chosen[conv.algorithm.rawValue, default: 0] += 1 }
        print("# \(name) batch=\(batch) threads=\(threads) kernels: "
              + chosen.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        let session = InferenceSession(model: model, threads: threads)
        let input = FloatBuffer(count: batch * model.inputShape.size)
        for i in 0..<input.count { input[i] = Float(i % 17) * 0.05 - 0.4 }
        let output = FloatBuffer(count: batch * model.classCount)
        let seconds = Measure.secondsPerCall(minimumSeconds: roundSeconds) {
            session.run(input.pointer, batch: batch, probabilities: output.pointer)
        }
        if batch == 1 {
            report("\(name) infer latency batch=1 threads=\(threads)", seconds * 1000, "ms", digits: 2)
            // Back to back, no idle: the spread the engine alone has on this machine, the floor
            // under any server's p99/p50 at concurrency 1.
            let hot = Measure.latencies(calls: 400) {
                session.run(input.pointer, batch: batch, probabilities: output.pointer)
            }
            report("\(name) infer latency batch=1 threads=\(threads) back to back p50", hot[hot.count / 2] * 1000, "ms", digits: 2)
            report("\(name) infer latency batch=1 threads=\(threads) back to back p99", hot[hot.count * 99 / 100] * 1000, "ms", digits: 2)
            let idle = Measure.latenciesAfterIdle(calls: 40, idle: .milliseconds(10)) {
                session.run(input.pointer, batch: batch, probabilities: output.pointer)
            }
            report("\(name) infer latency batch=1 threads=\(threads) after 10 ms idle p50", idle[idle.count / 2] * 1000, "ms", digits: 2)
            report("\(name) infer latency batch=1 threads=\(threads) after 10 ms idle p99", idle[idle.count * 99 / 100] * 1000, "ms", digits: 2)
        } else {
            report("\(name) infer batch=\(batch) threads=\(threads)", Double(batch) / seconds, "img/s")
        }
    }

    func trainingFigures(labels: [String], threads: Int) throws {
        let batch = 32
        let network = try Network(spec: .sceneS(labels: labels), threads: threads, seed: 3)
        let trainer = Trainer(network: network, optimizer: OptimizerConfig(kind: .adamW(), learningRate: 1e-3))
        let input = FloatBuffer(count: batch * network.inputShape.size)
        var rng = SeededGenerator(seed: 4)
        for i in 0..<input.count { input[i] = rng.nextNormal() }
        let targets = (0..<batch).map { Target.label($0 % labels.count) }
        let seconds = Measure.secondsPerCall(rounds: 3, minimumSeconds: roundSeconds * 2) {
            trainer.step(input.pointer, targets: targets)
        }
        report("scene-s train adamw batch=\(batch) threads=\(threads)", Double(batch) / seconds, "img/s")
    }
}
