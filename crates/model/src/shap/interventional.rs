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

/// Background rows walked together: up to 128, one bit each.
const GROUP: usize = 128;

/// Which way each background row goes at each node: per group of up to 128 rows and per
/// walked tree, one bitmask per node (bit b set: row b of the group goes to the true child).
/// Computed once per block of trees, for the trees walked (not those read from tables), so
/// walking a row against the whole background splits a set of rows with one AND per node
/// instead of comparing each background row's value.
pub(super) struct BackgroundSides {
    /// Per group: its row count and, per tree, the masks by node.
    groups: Vec<(usize, Vec<Vec<u128>>)>,
}

impl BackgroundSides {
    pub(super) fn new(trees: &[&Tree], background: Rows<'_>) -> BackgroundSides {
        let groups = (0..background.rows)
            .step_by(GROUP)
            .map(|first| {
                let rows = (background.rows - first).min(GROUP);
                let per_tree = trees
                    .iter()
                    .map(|tree| {
                        tree.nodes
                            .iter()
                            .map(|node| match node {
                                &TreeNode::Branch { feature, threshold, mode, missing_goes_true, .. } => (0..rows)
                                    .filter(|&b| {
                                        goes_true(
                                            background.row(first + b)[feature],
                                            threshold,
                                            mode,
                                            missing_goes_true,
                                        )
                                    })
                                    .fold(0u128, |m, b| m | (1 << b)),
                                TreeNode::Leaf { .. } => 0,
                            })
                            .collect()
                    })
                    .collect();
                (rows, per_tree)
            })
            .collect();
        BackgroundSides { groups }
    }
}

/// Adds the row's SHAP values in the trees `walked` (those `sides` was made for, in its
/// order), averaged over the background, to `phi` (features × outputs).
pub(super) fn explain_row(
    margin: &Margin<'_>,
    walked: &[&Tree],
    sides: &BackgroundSides,
    n_background: usize,
    row: &[f64],
    phi: &mut [f64],
) {
    if walked.is_empty() {
        return;
    }
    let weights = ShapleyWeights::new(margin.max_depth);
    let mut sum = vec![0.0; phi.len()];
    let mut walk = Walk {
        x: row,
        side: vec![Side::Free; row.len()],
        from_x: Vec::with_capacity(margin.max_depth),
        from_z: Vec::with_capacity(margin.max_depth),
        weights: &weights,
        phi: &mut sum,
        n_outputs: margin.n_outputs,
        scale: margin.scale,
        tree: walked[0],
        goes: &[],
    };
    for (rows, per_tree) in &sides.groups {
        let all = if *rows == GROUP { u128::MAX } else { (1u128 << rows) - 1 };
        for (tree, goes) in walked.iter().zip(per_tree) {
            walk.tree = tree;
            walk.goes = goes;
            walk.visit(0, all);
        }
    }
    // Summed over the background in a scratch block, then averaged into `phi` (which may
    // already hold other trees' values).
    let n = n_background as f64;
    phi.iter_mut().zip(sum.iter()).for_each(|(v, s)| *v += s / n);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Free,
    X,
    Z,
}

/// One explained row against a set of background rows at once: the pair walk of every
/// (row, background row) pair, done together while their paths agree. A set splits where
/// its rows go different ways; rows that reach a leaf with the same sides chosen share its
/// contribution (times their number).
struct Walk<'a> {
    x: &'a [f64],
    /// Which side each feature took on the current path.
    side: Vec<Side>,
    from_x: Vec<usize>,
    from_z: Vec<usize>,
    weights: &'a ShapleyWeights,
    phi: &'a mut [f64],
    n_outputs: usize,
    scale: f64,
    tree: &'a Tree,
    goes: &'a [u128],
}

impl Walk<'_> {
    fn visit(&mut self, node: usize, rows: u128) {
        match &self.tree.nodes[node] {
            TreeNode::Leaf { weights, .. } => self.leaf(weights, rows.count_ones()),
            &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                let x_true = goes_true(self.x[feature], threshold, mode, missing_goes_true);
                let (x_child, other) = if x_true { (true_child, false_child) } else { (false_child, true_child) };
                // The background rows going x's way, and the others.
                let along = if x_true { rows & self.goes[node] } else { rows & !self.goes[node] };
                let apart = rows & !along;
                match self.side[feature] {
                    // Decided earlier on the path: every row follows the chosen side.
                    Side::X => self.visit(x_child, rows),
                    Side::Z => {
                        if along != 0 {
                            self.visit(x_child, along);
                        }
                        if apart != 0 {
                            self.visit(other, apart);
                        }
                    }
                    Side::Free => {
                        if along != 0 {
                            self.visit(x_child, along);
                        }
                        if apart != 0 {
                            self.side[feature] = Side::X;
                            self.from_x.push(feature);
                            self.visit(x_child, apart);
                            self.from_x.pop();
                            self.side[feature] = Side::Z;
                            self.from_z.push(feature);
                            self.visit(other, apart);
                            self.from_z.pop();
                            self.side[feature] = Side::Free;
                        }
                    }
                }
            }
        }
    }

    fn leaf(&mut self, weights: &[(usize, f32)], rows: u32) {
        let (a, b) = (self.from_x.len(), self.from_z.len());
        let times = self.scale * f64::from(rows);
        if a > 0 {
            let w = self.weights.with_x(a, b) * times;
            for &f in &self.from_x {
                for &(k, v) in weights {
                    self.phi[f * self.n_outputs + k] += w * f64::from(v);
                }
            }
        }
        if b > 0 {
            let w = self.weights.with_x(b, a) * times;
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
