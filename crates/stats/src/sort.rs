//! Sorting floats fast: an LSD radix sort on the IEEE bit pattern.
//!
//! Drift detection sorts every numerical column of both samples once; at 5 million rows a
//! comparison sort (pdqsort) spends ~0.4 s a column, a radix sort ~0.05 s. The order is
//! exactly [`f64::total_cmp`]'s: the bit transform below is the one `total_cmp` is defined
//! by, so `-0.0` sorts before `0.0` and NaNs go to the ends by sign.

/// Below this length a comparison sort is faster than setting up radix passes.
const RADIX_THRESHOLD: usize = 2048;
/// 11-bit digits: 6 passes cover 64 bits and a 2048-entry count table fits in L1.
const DIGIT_BITS: u32 = 11;
const PASSES: usize = 6;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Float columns with at most this many distinct values are sorted by counting them.
const COUNTED_DISTINCT: usize = 1024;
/// Integers spanning fewer values than this (or than the column's length) are sorted by
/// counting: a table of this many counters is 0.5 MiB.
const COUNTING_SPAN: usize = 1 << 16;

/// Sorts `values` ascending in [`f64::total_cmp`] order. Uses 2n extra words for n above
/// a few thousand; [`sort_floats_vec`] needs only n.
pub fn sort_floats(values: &mut [f64]) {
    if values.len() < RADIX_THRESHOLD {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut keys: Vec<u64> = values.iter().map(|v| key(*v)).collect();
    radix_sort_keys(&mut keys);
    for (v, k) in values.iter_mut().zip(&keys) {
        *v = from_key(*k);
    }
}

/// Sorts an owned vector, reusing its allocation for the radix keys (the standard
/// library collects a `map` over `into_iter` in place when the layouts match), so the
/// only extra memory is one scratch buffer of the same length.
pub fn sort_floats_vec(values: Vec<f64>) -> Vec<f64> {
    if values.len() < RADIX_THRESHOLD {
        let mut values = values;
        values.sort_unstable_by(f64::total_cmp);
        return values;
    }
    let mut keys: Vec<u64> = values.into_iter().map(key).collect();
    radix_sort_keys(&mut keys);
    keys.into_iter().map(from_key).collect()
}

/// Maps a float to an unsigned integer with the same (total) order.
#[inline]
fn key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

#[inline]
fn from_key(k: u64) -> f64 {
    let bits = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(bits)
}

fn radix_sort_keys(keys: &mut Vec<u64>) {
    let counts = digit_counts(keys.iter().copied());
    radix_scatter(keys, &counts);
}

/// How often each digit value occurs at each of the 6 positions.
fn digit_counts(keys: impl Iterator<Item = u64>) -> Vec<[usize; BUCKETS]> {
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    for k in keys {
        count_digits(&mut counts, k);
    }
    counts
}

#[inline]
fn count_digits(counts: &mut [[usize; BUCKETS]], k: u64) {
    for (pass, table) in counts.iter_mut().enumerate() {
        table[digit(k, pass)] += 1;
    }
}

/// The LSD passes, given the digit counts of `keys`.
fn radix_scatter(keys: &mut Vec<u64>, counts: &[[usize; BUCKETS]]) {
    let n = keys.len();
    let mut scratch = vec![0u64; n];
    let mut source_is_keys = true;
    for (pass, table) in counts.iter().enumerate() {
        // A digit every key shares leaves the order as it is: skip the pass.
        if table.contains(&n) {
            continue;
        }
        let mut offsets = [0usize; BUCKETS];
        let mut running = 0;
        for (offset, &count) in offsets.iter_mut().zip(table.iter()) {
            *offset = running;
            running += count;
        }
        let (from, to) = if source_is_keys { (&keys[..], &mut scratch[..]) } else { (&scratch[..], &mut keys[..]) };
        for &k in from {
            let d = digit(k, pass);
            to[offsets[d]] = k;
            offsets[d] += 1;
        }
        source_is_keys = !source_is_keys;
    }
    if !source_is_keys {
        std::mem::swap(keys, &mut scratch);
    }
}

#[inline]
fn digit(k: u64, pass: usize) -> usize {
    ((k >> (pass as u32 * DIGIT_BITS)) & (BUCKETS as u64 - 1)) as usize
}

/// The finite values of `values` (NaN and ±inf dropped), sorted. One pass filters, maps to
/// radix keys and counts digits, in the vector's own allocation; drift detection calls this
/// once per numerical column and side.
pub fn sorted_finite(values: Vec<f64>) -> Vec<f64> {
    if values.len() >= RADIX_THRESHOLD
        && let Some(sorted) = sorted_by_counting_floats(&values)
    {
        return sorted;
    }
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    let mut keys: Vec<u64> =
        values.into_iter().filter(|x| x.is_finite()).map(key).inspect(|&k| count_digits(&mut counts, k)).collect();
    if keys.len() < RADIX_THRESHOLD {
        keys.sort_unstable();
    } else {
        radix_scatter(&mut keys, &counts);
    }
    keys.into_iter().map(from_key).collect()
}

/// Columns of few distinct values (a temperature to two decimals, a rating) are sorted by
/// counting each value in a small hash table, then writing the values out in order: one
/// pass instead of six. `None` as soon as there are more than [`COUNTED_DISTINCT`] distinct
/// finite values, which for other columns costs only the first few thousand lookups.
fn sorted_by_counting_floats(values: &[f64]) -> Option<Vec<f64>> {
    // Open addressing on the radix key; slots hold key + 1 so that 0 means empty.
    const SLOTS: usize = COUNTED_DISTINCT * 4;
    let mut keys = vec![0u64; SLOTS];
    let mut counts = vec![0usize; SLOTS];
    let mut distinct = 0;
    let mut finite = 0;
    for &v in values {
        if !v.is_finite() {
            continue;
        }
        finite += 1;
        let k = key(v);
        // Fibonacci hashing of the key's bits.
        let mut slot = (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize;
        loop {
            if keys[slot] == k + 1 {
                counts[slot] += 1;
                break;
            }
            if keys[slot] == 0 {
                distinct += 1;
                if distinct > COUNTED_DISTINCT {
                    return None;
                }
                keys[slot] = k + 1;
                counts[slot] = 1;
                break;
            }
            slot = (slot + 1) & (SLOTS - 1);
        }
    }
    let mut present: Vec<(u64, usize)> =
        keys.iter().zip(&counts).filter(|(k, _)| **k != 0).map(|(k, c)| (k - 1, *c)).collect();
    present.sort_unstable_by_key(|(k, _)| *k);
    let mut out = Vec::with_capacity(finite);
    for (k, count) in present {
        out.extend(std::iter::repeat_n(from_key(k), count));
    }
    Some(out)
}

/// Integers as sorted floats (as pandas compares an int64 column with a float64 one).
pub fn sorted_from_ints(values: Vec<i64>) -> Vec<f64> {
    // Counts, hours, codes: most integer columns span a small range, and counting each value
    // sorts them in two passes where the radix sort takes up to six.
    if let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max())
        && let Some(span) = max.checked_sub(min).and_then(|s| usize::try_from(s).ok())
        && span < values.len().max(COUNTING_SPAN)
    {
        let mut counts = vec![0usize; span + 1];
        for &v in &values {
            counts[(v - min) as usize] += 1;
        }
        let n = values.len();
        drop(values);
        let mut out = Vec::with_capacity(n);
        for (offset, &count) in counts.iter().enumerate() {
            out.extend(std::iter::repeat_n((min + offset as i64) as f64, count));
        }
        return out;
    }
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    let mut keys: Vec<u64> =
        values.into_iter().map(|i| key(i as f64)).inspect(|&k| count_digits(&mut counts, k)).collect();
    if keys.len() < RADIX_THRESHOLD {
        keys.sort_unstable();
    } else {
        radix_scatter(&mut keys, &counts);
    }
    keys.into_iter().map(from_key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed
    }

    #[test]
    fn radix_order_equals_total_cmp_order() {
        let mut seed = 7u64;
        let specials =
            [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, -f64::MIN_POSITIVE, 1e-310, -1e-310];
        for n in [0usize, 1, 5, 2047, 2048, 10_000, 100_003] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match i % 4 {
                    0 => (lcg(&mut seed) >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 100.0,
                    1 => f64::from_bits(lcg(&mut seed)).clamp(-1e300, 1e300),
                    2 => ((lcg(&mut seed) % 7) as f64) - 3.0, // ties
                    _ => specials[(lcg(&mut seed) % specials.len() as u64) as usize],
                })
                .filter(|x| !x.is_nan())
                .collect();
            let mut expected = v.clone();
            expected.sort_by(f64::total_cmp);
            let owned = sort_floats_vec(v.clone());
            sort_floats(&mut v);
            assert!(v.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()), "n = {n}");
            assert!(owned.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()), "n = {n}");
        }
    }

    #[test]
    fn sorted_finite_drops_non_finite_and_sorts() {
        for n in [10usize, 5000] {
            let mut v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64 - 500.0).collect();
            v.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]);
            let mut expected: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            expected.sort_by(f64::total_cmp);
            assert_eq!(sorted_finite(v), expected);
            let ints: Vec<i64> = (0..n as i64).map(|i| (i * 31) % 97 - 40).collect();
            let mut want: Vec<f64> = ints.iter().map(|&i| i as f64).collect();
            want.sort_by(f64::total_cmp);
            assert_eq!(sorted_from_ints(ints), want);
        }
    }

    /// Narrow ranges are counted, wide ones radix-sorted: both give `total_cmp`'s order,
    /// extremes and an empty column included.
    #[test]
    fn integers_sort_the_same_counted_or_radix_sorted() {
        let mut seed = 11u64;
        let columns: Vec<Vec<i64>> = vec![
            Vec::new(),
            vec![i64::MAX, i64::MIN, 0, -1, 1],
            (0..100_000).map(|_| (lcg(&mut seed) % 24) as i64).collect(),
            (0..100_000).map(|_| (lcg(&mut seed) % 1000) as i64 - 500).collect(),
            (0..5_000).map(|_| (lcg(&mut seed) % 60_000) as i64 + 1_000_000).collect(),
            (0..100_000).map(|_| lcg(&mut seed) as i64).collect(),
        ];
        for ints in columns {
            let mut want: Vec<f64> = ints.iter().map(|&i| i as f64).collect();
            want.sort_by(f64::total_cmp);
            let got = sorted_from_ints(ints);
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()) && got.len() == want.len());
        }
    }

    /// Few distinct floats are counted, many radix-sorted: the same order either way, with
    /// signed zeros, extremes and non-finite values (dropped) among them.
    #[test]
    fn floats_sort_the_same_counted_or_radix_sorted() {
        let mut seed = 5u64;
        let levels = [-0.0, 0.0, 0.02, 0.1, -3.5, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 1e-310];
        let few: Vec<f64> = (0..50_000)
            .map(|_| match lcg(&mut seed) % 13 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                i => levels[i as usize % levels.len()] + ((lcg(&mut seed) % 50) as f64) / 100.0,
            })
            .collect();
        let many: Vec<f64> = (0..50_000).map(|_| (lcg(&mut seed) >> 11) as f64 / 7.0).collect();
        let border: Vec<f64> = (0..50_000).map(|i| (i % (COUNTED_DISTINCT + 1)) as f64 / 3.0).collect();
        for column in [few, many, border] {
            let mut want: Vec<f64> = column.iter().copied().filter(|x| x.is_finite()).collect();
            want.sort_by(f64::total_cmp);
            let got = sorted_finite(column);
            assert_eq!(got.len(), want.len());
            assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert!(sorted_by_counting_floats(&[1.0; 3000]).is_some_and(|v| v.len() == 3000));
        let wide: Vec<f64> = (0..3000).map(f64::from).collect();
        assert!(sorted_by_counting_floats(&wide).is_none(), "more distinct values than counted");
    }

    #[test]
    fn keys_round_trip() {
        for v in [0.0, -0.0, 1.5, -1.5, f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(from_key(key(v)).to_bits(), f64::to_bits(v));
        }
    }
}
