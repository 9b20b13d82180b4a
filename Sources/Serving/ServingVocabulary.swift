import Imaging
import Training

// The types of the modules below that serving's API hands to the layer above (the gRPC services),
// re-exported by name so that layer imports `Serving` alone and no module past it.

public typealias ModelRegistry = Training.ModelRegistry
public typealias VersionRecord = Training.VersionRecord
public typealias RegistryError = Training.RegistryError
public typealias ImagingLimits = Imaging.ImagingLimits
public typealias ImagingError = Imaging.ImagingError
/// How error messages quote a client's value.
public typealias EchoedValue = Training.EchoedValue
