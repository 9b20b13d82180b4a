/// Direct-loop convolution over [C, N, H, W]: slow, obviously right, and the yardstick every fast
/// path (im2col + sgemm, Winograd, BN folding) is tested against.
public enum ConvolutionReference {
    /// input [C, N, H, W]; weight [OC, C, KH, KW]; bias [OC]? → output [OC, N, OH, OW].
    public static func forward(
        _ g: ConvGeometry, batch: Int, input: [Float], weight: [Float], bias: [Float]? = nil
    ) -> [Float] {
        let (oh, ow) = (g.outHeight, g.outWidth)
        var out = [Float](repeating: 0, count: g.outChannels * batch * oh * ow)
        for o in 0..<g.outChannels {
            for n in 0..<batch {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var sum = Double(bias?[o] ?? 0)
                        for c in 0..<g.inChannels {
                            for ky in 0..<g.kernelHeight {
                                for kx in 0..<g.kernelWidth {
                                    let iy = y * g.stride - g.padding + ky, ix = x * g.stride - g.padding + kx
                                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                    let xv = input[((c * batch + n) * g.height + iy) * g.width + ix]
                                    let wv = weight[((o * g.inChannels + c) * g.kernelHeight + ky) * g.kernelWidth + kx]
                                    sum += Double(xv) * Double(wv)
                                }
                            }
                        }
                        out[((o * batch + n) * oh + y) * ow + x] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    /// The data gradient, by scattering each output gradient back through the window.
    public static func backwardData(
        _ g: ConvGeometry, batch: Int, gradOutput: [Float], weight: [Float]
    ) -> [Float] {
        let (oh, ow) = (g.outHeight, g.outWidth)
        var grad = [Double](repeating: 0, count: g.inChannels * batch * g.height * g.width)
        for o in 0..<g.outChannels {
            for n in 0..<batch {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let gy = Double(gradOutput[((o * batch + n) * oh + y) * ow + x])
                        for c in 0..<g.inChannels {
                            for ky in 0..<g.kernelHeight {
                                for kx in 0..<g.kernelWidth {
                                    let iy = y * g.stride - g.padding + ky, ix = x * g.stride - g.padding + kx
                                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                    let wv = weight[((o * g.inChannels + c) * g.kernelHeight + ky) * g.kernelWidth + kx]
                                    grad[((c * batch + n) * g.height + iy) * g.width + ix] += gy * Double(wv)
                                }
                            }
                        }
                    }
                }
            }
        }
        return grad.map { Float($0) }
    }

    /// The weight gradient [OC, C, KH, KW].
    public static func backwardWeight(
        _ g: ConvGeometry, batch: Int, input: [Float], gradOutput: [Float]
    ) -> [Float] {
        let (oh, ow) = (g.outHeight, g.outWidth)
        var grad = [Double](repeating: 0, count: g.outChannels * g.patchSize)
        for o in 0..<g.outChannels {
            for n in 0..<batch {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let gy = Double(gradOutput[((o * batch + n) * oh + y) * ow + x])
                        for c in 0..<g.inChannels {
                            for ky in 0..<g.kernelHeight {
                                for kx in 0..<g.kernelWidth {
                                    let iy = y * g.stride - g.padding + ky, ix = x * g.stride - g.padding + kx
                                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                    let xv = Double(input[((c * batch + n) * g.height + iy) * g.width + ix])
                                    grad[((o * g.inChannels + c) * g.kernelHeight + ky) * g.kernelWidth + kx] += gy * xv
                                }
                            }
                        }
                    }
                }
            }
        }
        return grad.map { Float($0) }
    }
}
