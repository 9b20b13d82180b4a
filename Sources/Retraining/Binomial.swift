import Foundation

/// The binomial tail both the gate's McNemar tests and the screen's per-user test use.
enum Binomial {
    /// P(X ≥ k) for X ~ Binomial(n, p), summed in log space so n in the thousands stays finite.
    static func upperTail(_ k: Int, of n: Int, rate p: Double) -> Double {
        guard k > 0, n > 0 else { return 1 }
        guard k <= n, p < 1 else { return k <= n ? 1 : 0 }
        var total = 0.0
        for i in k...n {
            let choose: Double = lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1))
            let powers: Double = Double(i) * log(p) + Double(n - i) * log(1 - p)
            total += exp(choose + powers)
        }
        return min(1, total)
    }
}
