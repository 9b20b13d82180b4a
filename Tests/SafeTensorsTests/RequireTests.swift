import Testing
import SafeTensors

/// `require` is what model loaders call; its errors must name the tensor.
@Suite struct RequireTests {
    let archive = SafeTensorsArchive(tensors: [
        "conv1.weight": SafeTensor(shape: [8, 3, 3, 3], values: Array(repeating: 0.5, count: 216)),
        "scalar": SafeTensor(shape: [], values: [2]),
    ])

    @Test func returnsTensorWithMatchingShape() throws {
        #expect(try archive.require("conv1.weight", shape: [8, 3, 3, 3]).values.count == 216)
        #expect(try archive.require("scalar", shape: []).values == [2])
    }

    @Test func missingTensorIsNamed() {
        #expect(throws: SafeTensorsError.missingTensor(name: "fc.bias")) {
            try archive.require("fc.bias", shape: [10])
        }
    }

    @Test(arguments: [[8, 3, 3], [3, 8, 3, 3], [216], [8, 3, 3, 3, 1], []])
    func wrongShapeIsNamed(expected: [Int]) {
        #expect(throws: SafeTensorsError.shapeMismatch(name: "conv1.weight", expected: expected, found: [8, 3, 3, 3])) {
            try archive.require("conv1.weight", shape: expected)
        }
    }
}
