//! Path-dependent TreeSHAP: Lundberg, Erion et al. (2020), "From local explanations to global
//! understanding with explainable AI for trees", Algorithm 2, written as shap's
//! `tree_shap_recursive` (shap/cext/tree_shap.h) so the values agree with shap's to rounding.
//!
//! Walking one tree for one row, the algorithm keeps the *unique path* of features split on
//! between the root and the current node. Each element holds the share of training rows (by
//! cover) that followed this path when the feature is "absent" (`zero`) and whether the row's
//! own value follows it when "present" (`one`, 0 or 1), plus `weight`: the summed Shapley
//! weights of all subsets of the path of each size. At a leaf, unwinding one element at a
//! time gives that feature's share of the leaf value. O(leaves × depth²) per tree and row.

use super::Margin;
use super::covers::Covers;
use crate::tree::{Tree, TreeNode, goes_true};

/// The feature of the path's first element, which stands for no feature.
const NO_FEATURE: usize = usize::MAX;

#[derive(Debug, Clone, Copy)]
pub(super) struct PathElement {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

const EMPTY: PathElement = PathElement { feature: NO_FEATURE, zero: 0.0, one: 0.0, weight: 0.0 };

/// The cover-weighted mean margin per output: shap's `expected_value` for path-dependent
/// explanations (the leaves' values weighted by the share of training rows reaching them).
pub(super) fn expected_margin(margin: &Margin<'_>, covers: &Covers) -> Vec<f64> {
    let mut expected = margin.base.clone();
    for (t, tree) in margin.trees.iter().enumerate() {
        let cover = covers.tree(t);
        let root = cover[0];
        if root <= 0.0 {
            continue;
        }
        for (node, c) in tree.nodes.iter().zip(cover) {
            if let TreeNode::Leaf { weights, .. } = node {
                for &(k, w) in weights {
                    expected[k] += margin.scale * f64::from(w) * c / root;
                }
            }
        }
    }
    expected
}

/// A path buffer for trees at most `max_depth` branches deep: one segment per depth, each a
/// copy of its parent's path plus one element ((D + 2)(D + 3) / 2 elements, as shap sizes it).
pub(super) fn path_buffer(max_depth: usize) -> Vec<PathElement> {
    vec![EMPTY; (max_depth + 2) * (max_depth + 3) / 2 + 1]
}

/// Adds one tree's SHAP values of `row` to `phi` (features × outputs).
pub(super) fn explain_tree(
    margin: &Margin<'_>,
    tree: &Tree,
    cover: &[f64],
    row: &[f64],
    buffer: &mut [PathElement],
    phi: &mut [f64],
) {
    let mut walk = Walk { tree, cover, row, phi, n_outputs: margin.n_outputs, scale: margin.scale };
    walk.recurse(buffer, 0, 0, 0, 1.0, 1.0, NO_FEATURE);
}

struct Walk<'a> {
    tree: &'a Tree,
    cover: &'a [f64],
    row: &'a [f64],
    phi: &'a mut [f64],
    n_outputs: usize,
    scale: f64,
}

impl Walk<'_> {
    /// Visits `node`, reached through the parent's path segment at `parent_at`, extending a
    /// copy of that path (at depth `depth`) with the split that led here.
    #[allow(clippy::too_many_arguments)] // shap's recursion, argument for argument
    fn recurse(
        &mut self,
        buffer: &mut [PathElement],
        node: usize,
        parent_at: usize,
        depth: usize,
        zero: f64,
        one: f64,
        feature: usize,
    ) {
        let at = parent_at + depth + 1;
        buffer.copy_within(parent_at..parent_at + depth + 1, at);
        let path = &mut buffer[at..];
        extend(path, depth, zero, one, feature);
        let mut depth = depth;
        match &self.tree.nodes[node] {
            TreeNode::Leaf { weights, .. } => {
                for i in 1..=depth {
                    let el = path[i];
                    let share = unwound_sum(path, depth, i) * (el.one - el.zero) * self.scale;
                    for &(k, w) in weights {
                        self.phi[el.feature * self.n_outputs + k] += share * f64::from(w);
                    }
                }
            }
            &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                let x = self.row[feature];
                let (hot, cold) = if goes_true(x, threshold, mode, missing_goes_true) {
                    (true_child, false_child)
                } else {
                    (false_child, true_child)
                };
                let here = self.cover[node];
                let fraction = |child: usize| if here > 0.0 { self.cover[child] / here } else { 0.0 };
                let (hot_zero, cold_zero) = (fraction(hot), fraction(cold));
                // A feature split on again: undo its earlier element and redo it here, so each
                // feature appears once on the path (its fractions multiply).
                let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
                if let Some(i) = (1..=depth).find(|&i| path[i].feature == feature) {
                    incoming_zero = path[i].zero;
                    incoming_one = path[i].one;
                    unwind(path, depth, i);
                    depth -= 1;
                }
                // A child with both fractions 0 (no training row reached it, and the row does
                // not go there) adds nothing: extending the path with it zeroes every weight.
                // Skipping it also keeps unwind from dividing by its zero fraction. With
                // shap's own covers every child has rows, so this never skips.
                for (child, zero, one) in
                    [(hot, hot_zero * incoming_zero, incoming_one), (cold, cold_zero * incoming_zero, 0.0)]
                {
                    if zero > 0.0 || one > 0.0 {
                        self.recurse(buffer, child, at, depth + 1, zero, one, feature);
                    }
                }
            }
        }
    }
}

/// Appends a feature to the path and updates the subset-size weights (shap's `extend_path`).
fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: usize) {
    path[depth] = PathElement { feature, zero, one, weight: if depth == 0 { 1.0 } else { 0.0 } };
    let d1 = (depth + 1) as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / d1;
        path[i].weight = zero * path[i].weight * (depth - i) as f64 / d1;
    }
}

/// Removes element `index` from the path, undoing its `extend` (shap's `unwind_path`).
fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let PathElement { one, zero, .. } = path[index];
    let d1 = (depth + 1) as f64;
    let mut next_one_portion = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one_portion * d1 / ((i + 1) as f64 * one);
            next_one_portion = tmp - path[i].weight * zero * (depth - i) as f64 / d1;
        } else {
            path[i].weight = path[i].weight * d1 / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// The total weight the path would have without element `index` (shap's
/// `unwound_path_sum`), without changing the path.
fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let PathElement { one, zero, .. } = path[index];
    let d1 = (depth + 1) as f64;
    let mut next_one_portion = path[depth].weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].weight - tmp * zero * ((depth - i) as f64 / d1);
        } else if zero != 0.0 {
            total += (path[i].weight / zero) / ((depth - i) as f64 / d1);
        }
    }
    total
}
