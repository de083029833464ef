//! scikit-learn's `StratifiedShuffleSplit(n_splits, test_size=0.1, random_state=42)` for a
//! binary label: the test rows of each split, drawn exactly as scikit-learn draws them.

use super::numpy_rng::RandomState;

/// The test indices of each of `n_splits` splits, or `None` where scikit-learn raises (a
/// class with fewer than two members, or a train or test set smaller than the classes).
pub(crate) fn stratified_test_sets(
    labels: &[bool],
    n_splits: usize,
    test_size: f64,
    seed: u32,
) -> Option<Vec<Vec<usize>>> {
    let n = labels.len();
    let n_test = (test_size * n as f64).ceil() as usize;
    let n_train = n.checked_sub(n_test)?;
    // np.unique sorts the classes: False (0) first.
    let class_indices: [Vec<usize>; 2] =
        [(0..n).filter(|&i| !labels[i]).collect(), (0..n).filter(|&i| labels[i]).collect()];
    let counts = [class_indices[0].len(), class_indices[1].len()];
    if counts.iter().any(|&c| c < 2) || n_train < 2 || n_test < 2 {
        return None;
    }
    let mut rng = RandomState::new(seed);
    let mut splits = Vec::with_capacity(n_splits);
    for _ in 0..n_splits {
        let n_i = approximate_mode(counts, n_train, &mut rng);
        let remaining = [counts[0] - n_i[0], counts[1] - n_i[1]];
        let t_i = approximate_mode(remaining, n_test, &mut rng);
        let mut train = Vec::with_capacity(n_train);
        let mut test = Vec::with_capacity(n_test);
        for class in 0..2 {
            let perm = rng.permutation(counts[class]);
            let indices: Vec<usize> = perm.iter().map(|&p| class_indices[class][p]).collect();
            train.extend_from_slice(&indices[..n_i[class]]);
            test.extend_from_slice(&indices[n_i[class]..n_i[class] + t_i[class]]);
        }
        // train = rng.permutation(train): only its draws matter here.
        rng.shuffle(&mut train);
        rng.shuffle(&mut test);
        splits.push(test);
    }
    Some(splits)
}

/// scikit-learn's `_approximate_mode`: floors of the proportional shares, the remainder
/// given to the largest fractional parts, ties broken by `rng.choice(…, replace=False)`.
fn approximate_mode(counts: [usize; 2], draws: usize, rng: &mut RandomState) -> [usize; 2] {
    let total = (counts[0] + counts[1]) as f64;
    let continuous = counts.map(|c| c as f64 / total * draws as f64);
    let mut floored = continuous.map(f64::floor);
    let mut need = (draws as f64 - (floored[0] + floored[1])) as i64;
    if need > 0 {
        let remainder = [continuous[0] - floored[0], continuous[1] - floored[1]];
        let mut values = remainder.to_vec();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..2).filter(|&i| remainder[i] == value).collect();
            let add_now = inds.len().min(need as usize);
            // choice(inds, add_now, replace=False) = inds[permutation(len)[:add_now]].
            let perm = rng.permutation(inds.len());
            for &p in &perm[..add_now] {
                floored[inds[p]] += 1.0;
            }
            need -= add_now as i64;
            if need == 0 {
                break;
            }
        }
    }
    floored.map(|f| f as usize)
}
