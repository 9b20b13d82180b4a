/// F(4×4, 3×3): 6×6 input tiles, 4×4 output tiles, 36 GEMMs; 4× fewer multiplications than direct
/// convolution. Its forward pass and weight gradient run in CKernels (kernels_template.h: Bᵀ·d·B,
/// Aᵀ·M·A and A·∂y·Aᵀ at the CPU's vector width); the weight transforms use G from here.
///
/// Bᵀ = [[4,0,−5,0,1,0],[0,−4,−4,1,1,0],[0,4,−4,−1,1,0],[0,−2,−1,2,1,0],[0,2,−1,−2,1,0],[0,4,0,−5,0,1]]
/// Aᵀ = [[1,1,1,1,1,0],[0,1,−1,2,−2,0],[0,1,1,4,4,0],[0,1,−1,8,−8,1]]
enum WinogradF4 {
    /// G, 6 × 3: U = G·g·Gᵀ (CKernels' pack.c holds the same values for the forward weights).
    static let g: [[Float]] = [
        [1.0 / 4, 0, 0],
        [-1.0 / 6, -1.0 / 6, -1.0 / 6],
        [-1.0 / 6, 1.0 / 6, -1.0 / 6],
        [1.0 / 24, 1.0 / 12, 1.0 / 6],
        [1.0 / 24, -1.0 / 12, 1.0 / 6],
        [0, 0, 1],
    ]
}
