//! The 64-bit hash behind [`DistinctCounter`](super::DistinctCounter).
//!
//! Distinct counts are stored and merged across processes and releases, so the hash must be
//! a fixed function of the value: the same on every run and platform (std's `RandomState`
//! is seeded per process, and `DefaultHasher`'s algorithm is unspecified). HyperLogLog also
//! needs every output bit close to uniform, since it uses the top 14 bits as a register
//! index and the leading zeros of the rest as the observation.
//!
//! - Floats: the bit pattern, made canonical (`-0.0` → `0.0`, every NaN → one NaN) so that
//!   values equal under `==` hash equally, goes through a strong 64-bit finalizer
//!   (Evensen's rrmxmx, a bijection with full avalanche).
//! - Bytes: wyhash-style folded 64×64→128-bit multiplies over 16-byte blocks, with the
//!   length mixed into the final round so zero padding of the tail is unambiguous.
//!
//! The outputs are pinned by tests: changing them would silently break merging with
//! sketches that were stored earlier.

/// wyhash's default secret: odd constants with balanced bits.
const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;
const P3: u64 = 0x5899_65cc_7537_4cc3;

/// XORed into float bits before mixing so that `0.0` (the commonest value in real columns)
/// does not hash to the bijection's fixed point 0.
const FLOAT_SEED: u64 = 0x243f_6a88_85a3_08d3;

/// Multiply to 128 bits and fold the halves together.
#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// rrmxmx (Pelle Evensen): a bijective mixer whose output bits each flip with probability
/// ~1/2 when any input bit flips.
#[inline]
fn rrmxmx(mut v: u64) -> u64 {
    v ^= v.rotate_right(49) ^ v.rotate_right(24);
    v = v.wrapping_mul(0x9fb2_1c65_1e98_df25);
    v ^= (v >> 35).wrapping_add(8);
    v = v.wrapping_mul(0x9fb2_1c65_1e98_df25);
    v ^ (v >> 28)
}

/// Hash of a float for distinct counting. Values equal under `==` hash equally (`0.0` and
/// `-0.0`), and all NaNs hash to one value, so a column's NaNs count as one distinct value.
#[inline]
pub fn hash_f64(x: f64) -> u64 {
    let bits = if x == 0.0 {
        0
    } else if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    };
    rrmxmx(bits ^ FLOAT_SEED)
}

/// Hash of a byte string for distinct counting.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len() as u64;
    let mut seed = P0 ^ mum(len ^ P1, P2);
    let (blocks, tail) = bytes.as_chunks::<16>();
    for block in blocks {
        let v = u128::from_le_bytes(*block);
        seed = mum((v as u64) ^ P1, ((v >> 64) as u64) ^ seed);
    }
    let mut last = [0u8; 16];
    for (dst, src) in last.iter_mut().zip(tail) {
        *dst = *src;
    }
    let v = u128::from_le_bytes(last);
    let r = u128::from((v as u64) ^ P1) * u128::from(((v >> 64) as u64) ^ seed);
    mum((r as u64) ^ P0 ^ len, ((r >> 64) as u64) ^ P3)
}

/// Hash of a string for distinct counting: [`hash_bytes`] of its UTF-8 bytes.
#[inline]
pub fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_hash_respects_float_equality() {
        assert_eq!(hash_f64(0.0), hash_f64(-0.0));
        assert_eq!(hash_f64(f64::NAN), hash_f64(-f64::NAN));
        assert_eq!(hash_f64(f64::NAN), hash_f64(f64::from_bits(0x7ff8_0000_0000_0001)));
        assert_ne!(hash_f64(1.0), hash_f64(-1.0));
        assert_ne!(hash_f64(0.0), 0);
    }

    #[test]
    fn byte_hash_separates_lengths_and_tails() {
        let inputs: [&[u8]; 7] = [b"", b"\0", b"\0\0", b"a", b"a\0", &[7u8; 16], &[7u8; 17]];
        let mut hashes: Vec<u64> = inputs.iter().map(|b| hash_bytes(b)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), inputs.len());
    }

    #[test]
    fn single_bit_changes_flip_about_half_the_output() {
        // Avalanche check over many inputs: every input bit should move every output bit
        // with probability near 1/2; a weak mixer shows biases of 0.1 or more.
        let mut state = 1u64;
        let mut flips = [[0u32; 64]; 64];
        let trials = 2000;
        for _ in 0..trials {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let base = rrmxmx(state);
            for (i, row) in flips.iter_mut().enumerate() {
                let diff = base ^ rrmxmx(state ^ (1 << i));
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell += ((diff >> j) & 1) as u32;
                }
            }
        }
        let worst = flips.iter().flatten().map(|&c| (f64::from(c) / f64::from(trials) - 0.5).abs()).fold(0.0, f64::max);
        assert!(worst < 0.06, "worst avalanche bias {worst}");
    }
}
