import Foundation
import Imaging

/// Encoded image bytes → one preprocessed model input [C, H, W], with imaging failures as
/// `ServingError.invalidImage`. The one place Predict, feedback intake and retraining turn bytes
/// into a tensor.
public enum ImageInput {
    public static func preprocess(_ bytes: Data, spec: PreprocessSpec, limits: ImagingLimits = .default) throws -> [Float] {
        var input = [Float](repeating: 0, count: spec.floatsPerImage)
        // Typed-throws closures through `withUnsafeBytes` crash the 6.3 compiler's IRGen, so the
        // error is carried out as a value instead.
        let failure: ImagingError? = bytes.withUnsafeBytes { raw in
            input.withUnsafeMutableBufferPointer { buffer -> ImagingError? in
                do {
                    try Preprocessor.preprocess(raw, spec: spec, limits: limits, into: buffer.baseAddress!)
                    return nil
                } catch {
                    return error as? ImagingError ?? .codecFailure(reason: "\(error)")
                }
            }
        }
        if let failure { throw ServingError.invalidImage(failure) }
        return input
    }
}
