import CKernels
import Testing
@testable import Tensor

/// `Im2col.unfold` (CKernels' `bk_im2col`) at every level this machine runs, against the naive
/// reference, on column ranges that start and end inside output rows and cross images.
@Suite struct Im2colTests {
    static let geometries: [ConvGeometry] = [
        // ResNet's last stage at batch 1 (7-float runs) and its stride-2 entry.
        ConvGeometry(inChannels: 5, outChannels: 1, height: 7, width: 7, kernel: 3, stride: 1, padding: 1),
        ConvGeometry(inChannels: 3, outChannels: 1, height: 14, width: 14, kernel: 3, stride: 2, padding: 1),
        // No padding: the input is read where it lies (1×1 downsampling, a valid 3×3).
        ConvGeometry(inChannels: 4, outChannels: 1, height: 9, width: 11, kernel: 1, stride: 2, padding: 0),
        ConvGeometry(inChannels: 2, outChannels: 1, height: 6, width: 21, kernel: 3, stride: 1, padding: 0),
        // Odd sizes, stride 3, padding wider than the window reaches, a 7×7 stem-like window.
        ConvGeometry(inChannels: 2, outChannels: 1, height: 13, width: 9, kernel: 3, stride: 3, padding: 2),
        ConvGeometry(inChannels: 2, outChannels: 1, height: 5, width: 4, kernel: 1, stride: 1, padding: 3),
        ConvGeometry(inChannels: 3, outChannels: 1, height: 23, width: 19, kernel: 7, stride: 2, padding: 3),
        // Runs longer than every vector width, with tails.
        ConvGeometry(inChannels: 2, outChannels: 1, height: 4, width: 37, kernel: 5, stride: 1, padding: 2),
        // Rows wide enough that the padded copy holds only a few output rows: several strips.
        ConvGeometry(inChannels: 2, outChannels: 1, height: 30, width: 700, kernel: 3, stride: 1, padding: 1),
        // Rows too wide for the padded copy at all: the bounds-arithmetic path.
        ConvGeometry(inChannels: 2, outChannels: 1, height: 3, width: 3000, kernel: 3, stride: 2, padding: 1),
    ]

    @Test(arguments: geometries, [1, 2])
    func unfoldMatchesReference(g: ConvGeometry, batch: Int) {
        let total = batch * g.outputPlane, input = randomArray(g.inChannels * batch * g.inputPlane, seed: 61)
        let ranges = [0..<total, 1..<total, g.outWidth / 2..<min(total, g.outputPlane + g.outWidth + 1),
                      total - 1..<total, total / 3..<2 * total / 3]
        for columns in ranges where !columns.isEmpty {
            var shape = g.kernelShape
            let expected = [Float](repeating: .nan, count: g.patchSize * columns.count).withBuffer { col in
                bk_reference_im2col(&shape, Int32(batch), input, columns.lowerBound, columns.upperBound, col,
                                    columns.count)
            }
            for level in KernelLevel.supported {
                let out = [Float](repeating: .nan, count: expected.count).withBuffer { col in
                    Im2col.unfold(g, batch: batch, input: input, columns: columns, into: col, level: level)
                }
                #expect(out == expected, "\(level) \(g) batch \(batch) columns \(columns)")
            }
        }
    }

    /// A hand-computed case, so the reference itself is checked: one 3×3 input, 2×2 window, stride 1,
    /// padding 1 (a 4×4 output). Row (ky 0, kx 0) sees the input shifted down and right by one.
    @Test func referenceMatchesHandComputedRow() {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 2, stride: 1, padding: 1)
        let input: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let col = [Float](repeating: .nan, count: 4 * 16).withBuffer { col in
            Im2col.unfold(g, batch: 1, input: input, columns: 0..<16, into: col)
        }
        #expect(Array(col[0..<16]) == [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9])
        #expect(Array(col[48..<64]) == [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0])
    }
}
