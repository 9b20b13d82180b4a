import CKernels

extension ConvGeometry {
    /// CKernels' view of this shape, output size included: the kernels take it from here rather
    /// than restate the formula in C.
    var kernelShape: bk_conv_shape {
        bk_conv_shape(c: Int32(inChannels), oc: Int32(outChannels), h: Int32(height), w: Int32(width),
                      kh: Int32(kernelHeight), kw: Int32(kernelWidth), stride: Int32(stride),
                      padding: Int32(padding), oh: Int32(outHeight), ow: Int32(outWidth))
    }
}
