//! The deterministic sample generator shared with `crates/stats/tests/data/make_*.py`:
//! SplitMix64 and the same transforms, so large samples are stored as a seed.

/// SplitMix64, identical to the generator in the make_*.py scripts.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * 2f64.powi(-53)
    }
}

pub fn generate(kind: &str, seed: u64, n: usize, loc: f64, scale: f64) -> Vec<f64> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| match kind {
            "n" => {
                let mut s = 0.0;
                for _ in 0..12 {
                    s += rng.uniform();
                }
                loc + scale * (s - 6.0)
            }
            "u" => loc + scale * rng.uniform(),
            "i" => (loc + scale * rng.uniform()).floor(),
            "c" => {
                let u = rng.uniform();
                loc + scale * (u * u * u)
            }
            "p" => loc + scale / (1.0 - rng.uniform()),
            other => panic!("unknown generator kind {other}"),
        })
        .collect()
}
