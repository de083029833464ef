//! Interventional TreeSHAP: the Shapley values of the game "features in the coalition take
//! the explained row's values, the others a background row's", averaged over the background
//! (shap's `feature_perturbation="interventional"`; Lundberg et al. 2020, "Independent
//! TreeSHAP").
//!
//! For one explained row x and one background row z, a leaf is reached by a coalition S iff
//! every split on the way sends S's hybrid row there. Splits where x and z go the same way do
//! not care; the others each need their feature in S (x's side, set A) or out of it (z's
//! side, set B), and a feature met twice must stay on the side chosen first. So the game is a
//! sum over leaves of v·[A ⊆ S, B ∩ S = ∅], whose Shapley values are, for i in A,
//! v·(|A|−1)!·|B|!/(|A|+|B|)! and, for j in B, −v·|A|!·(|B|−1)!/(|A|+|B|)!. One walk per pair
//! and tree visits only the leaves some coalition reaches.

use super::{Margin, Rows};
use crate::tree::{Tree, TreeNode, goes_true};

/// The mean margin over the background rows: shap's `expected_value` here.
pub(super) fn expected_margin(margin: &Margin<'_>, background: Rows<'_>) -> Vec<f64> {
    let mut sum = vec![0.0; margin.n_outputs];
    let mut one = vec![0.0; margin.n_outputs];
    for r in 0..background.rows {
        margin.eval(background.row(r), &mut one);
        sum.iter_mut().zip(&one).for_each(|(s, o)| *s += o);
    }
    sum.iter().map(|s| s / background.rows as f64).collect()
}

/// Adds the row's SHAP values in `trees`, averaged over the background, to `phi`
/// (features × outputs).
pub(super) fn explain_row(margin: &Margin<'_>, trees: &[&Tree], background: Rows<'_>, row: &[f64], phi: &mut [f64]) {
    if trees.is_empty() {
        return;
    }
    let weights = ShapleyWeights::new(margin.max_depth);
    let mut pair = Pair {
        x: row,
        z: row,
        side: vec![Side::Free; row.len()],
        from_x: Vec::with_capacity(margin.max_depth),
        from_z: Vec::with_capacity(margin.max_depth),
        weights: &weights,
        phi,
        n_outputs: margin.n_outputs,
        scale: margin.scale,
    };
    // Summed over the background in a scratch block, then averaged into `phi` (which may
    // already hold other trees' values).
    let mut sum = vec![0.0; pair.phi.len()];
    let phi = std::mem::replace(&mut pair.phi, &mut sum);
    for b in 0..background.rows {
        pair.z = background.row(b);
        for tree in trees {
            pair.walk(tree, 0);
        }
    }
    let n = background.rows as f64;
    phi.iter_mut().zip(pair.phi.iter()).for_each(|(v, s)| *v += s / n);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Free,
    X,
    Z,
}

struct Pair<'a> {
    x: &'a [f64],
    z: &'a [f64],
    /// Which side each feature took on the current path.
    side: Vec<Side>,
    from_x: Vec<usize>,
    from_z: Vec<usize>,
    weights: &'a ShapleyWeights,
    phi: &'a mut [f64],
    n_outputs: usize,
    scale: f64,
}

impl Pair<'_> {
    fn walk(&mut self, tree: &Tree, node: usize) {
        match &tree.nodes[node] {
            TreeNode::Leaf { weights, .. } => self.leaf(weights),
            &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                let child = |value: f64| {
                    if goes_true(value, threshold, mode, missing_goes_true) { true_child } else { false_child }
                };
                let (x_child, z_child) = (child(self.x[feature]), child(self.z[feature]));
                if x_child == z_child {
                    return self.walk(tree, x_child);
                }
                match self.side[feature] {
                    Side::X => self.walk(tree, x_child),
                    Side::Z => self.walk(tree, z_child),
                    Side::Free => {
                        self.side[feature] = Side::X;
                        self.from_x.push(feature);
                        self.walk(tree, x_child);
                        self.from_x.pop();
                        self.side[feature] = Side::Z;
                        self.from_z.push(feature);
                        self.walk(tree, z_child);
                        self.from_z.pop();
                        self.side[feature] = Side::Free;
                    }
                }
            }
        }
    }

    fn leaf(&mut self, weights: &[(usize, f32)]) {
        let (a, b) = (self.from_x.len(), self.from_z.len());
        if a > 0 {
            let w = self.weights.with_x(a, b) * self.scale;
            for &f in &self.from_x {
                for &(k, v) in weights {
                    self.phi[f * self.n_outputs + k] += w * f64::from(v);
                }
            }
        }
        if b > 0 {
            let w = self.weights.with_x(b, a) * self.scale;
            for &f in &self.from_z {
                for &(k, v) in weights {
                    self.phi[f * self.n_outputs + k] -= w * f64::from(v);
                }
            }
        }
    }
}

/// (a−1)!·b!/(a+b)! for a ≥ 1, a + b ≤ the deepest path: the Shapley weight of a feature of
/// A when the leaf needs A in and B out (by symmetry, of B with the sides swapped).
pub(super) struct ShapleyWeights {
    size: usize,
    table: Vec<f64>,
}

impl ShapleyWeights {
    pub(super) fn new(max_depth: usize) -> ShapleyWeights {
        let size = max_depth + 1;
        let mut table = vec![0.0; size * size];
        for a in 1..size {
            for b in 0..size - a {
                // (a−1)!·b!/(a+b)! = 1/a · Π_{i=1..b} i/(a+i), computed without factorials.
                let mut w = 1.0 / a as f64;
                for i in 1..=b {
                    w *= i as f64 / (a + i) as f64;
                }
                table[a * size + b] = w;
            }
        }
        ShapleyWeights { size, table }
    }

    pub(super) fn with_x(&self, a: usize, b: usize) -> f64 {
        self.table[a * self.size + b]
    }
}
