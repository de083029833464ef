//! Interventional TreeSHAP with per-leaf tables of the background: O(nodes + leaves × d) per
//! row and tree instead of walking every (row, background row) pair.
//!
//! Why it works. For a leaf whose path splits on the distinct features F (d of them), let X
//! be the features whose every split on the path the explained row follows, and M the same
//! for a background row. A hybrid row reaches the leaf iff X ∪ M = F; then the features of
//! X∖M must come from the row (set A) and those of M∖X from the background (set B), and the
//! leaf adds v·(|A|−1)!|B|!/(|A|+|B|)! to each feature of A and the negated swap to each of B
//! (see `interventional`). So a leaf's share depends on the explained row only through X and
//! on the background only through how many of its rows have each M: per leaf, the background
//! is a histogram of masks, and each X's coefficients (one per feature of F) are tabulated
//! once, enumerating for each background mask M only the X ⊇ F∖M.

use super::fast::{LeafPath, leaf_paths};
use super::interventional::ShapleyWeights;
use super::{Margin, Rows};
use crate::tree::{Tree, TreeNode, goes_true};

/// Coefficients all trees of a block may take together (f64): 32 MiB.
const TABLE_BUDGET: usize = 1 << 22;

/// Leaves with more distinct path features walk pairs (2^d × d coefficients per leaf).
const MAX_TABULATED_FEATURES: usize = 14;

/// A leaf's distinct path features and, for each mask X of them, one coefficient per feature
/// (`coefficients[X·d + j]`), already divided by the background size.
struct LeafTable {
    features: Vec<usize>,
    coefficients: Vec<f64>,
}

pub(super) struct TreeTables {
    leaf_at: Vec<usize>,
    leaves: Vec<LeafTable>,
}

/// From tree `start` on, the trees whose tables fit the budget together: the end of the block
/// and, per tree, its tables or None where walking pairs is cheaper. At least one tree.
pub(super) fn plan_block(
    margin: &Margin<'_>,
    background: Rows<'_>,
    rows: usize,
    start: usize,
) -> (usize, Vec<Option<TreeTables>>) {
    let weights = ShapleyWeights::new(margin.max_depth);
    let mut out = Vec::new();
    let mut used = 0usize;
    for tree in margin.trees.iter().skip(start) {
        let paths = leaf_paths(tree, None);
        let entries: usize = paths.iter().map(|p| (1usize << p.features.len().min(63)) * p.features.len()).sum();
        if paths.iter().any(|p| p.features.len() > MAX_TABULATED_FEATURES) {
            out.push(None);
            continue;
        }
        if used + entries > TABLE_BUDGET && !out.is_empty() {
            break;
        }
        let masks = background_masks(tree, &paths, background);
        // Tabulating enumerates 2^|M| masks X per distinct background mask M; walking pairs
        // costs at least a root-to-leaf path per row and background row.
        let build: usize = masks.iter().flatten().map(|(m, _)| (1usize << m.count_ones()) * 8).sum();
        let per_row_tables = tree.nodes.len() + paths.iter().map(|p| p.features.len()).sum::<usize>();
        let per_row_pairs = background.rows * (margin.max_depth + 1) * 2;
        let saved = per_row_pairs.saturating_sub(per_row_tables).saturating_mul(rows);
        if build >= saved {
            out.push(None);
            continue;
        }
        used += entries;
        out.push(Some(tabulate(tree, paths, &masks, background.rows, &weights)));
    }
    (start + out.len(), out)
}

/// Per leaf (in `paths` order), the distinct masks M of the background rows and their counts.
fn background_masks(tree: &Tree, paths: &[LeafPath], background: Rows<'_>) -> Vec<Vec<(usize, usize)>> {
    let mut leaf_at = vec![usize::MAX; tree.nodes.len()];
    for (i, p) in paths.iter().enumerate() {
        leaf_at[p.node] = i;
    }
    let mut seen: Vec<Vec<usize>> = vec![Vec::new(); paths.len()];
    let mut strays = vec![0u32; background.cols];
    for b in 0..background.rows {
        for_each_leaf(tree, background.row(b), &mut strays, &mut |node, strays| {
            let i = leaf_at[node];
            seen[i].push(followed(&paths[i].features, strays));
        });
    }
    seen.into_iter()
        .map(|mut m| {
            m.sort_unstable();
            let mut counted: Vec<(usize, usize)> = Vec::new();
            for mask in m {
                match counted.last_mut() {
                    Some((last, n)) if *last == mask => *n += 1,
                    _ => counted.push((mask, 1)),
                }
            }
            counted
        })
        .collect()
}

fn tabulate(
    tree: &Tree,
    paths: Vec<LeafPath>,
    masks: &[Vec<(usize, usize)>],
    n_background: usize,
    weights: &ShapleyWeights,
) -> TreeTables {
    let mut leaf_at = vec![usize::MAX; tree.nodes.len()];
    let mut leaves = Vec::with_capacity(paths.len());
    for (i, path) in paths.into_iter().enumerate() {
        leaf_at[path.node] = i;
        let d = path.features.len();
        let full = (1usize << d) - 1;
        let mut coefficients = vec![0.0; (1usize << d) * d];
        for &(m, count) in &masks[i] {
            let share = count as f64 / n_background as f64;
            // Every X with X ∪ M = F: F∖M plus any subset S of M.
            let mut s = m;
            loop {
                let x = (full & !m) | s;
                let (only_x, only_m) = (x & !m, m & !x);
                let (a, b) = (only_x.count_ones() as usize, only_m.count_ones() as usize);
                if a + b > 0 {
                    let row = &mut coefficients[x * d..(x + 1) * d];
                    let (for_a, for_b) = (
                        if a > 0 { weights.with_x(a, b) } else { 0.0 },
                        if b > 0 { weights.with_x(b, a) } else { 0.0 },
                    );
                    for (j, c) in row.iter_mut().enumerate() {
                        if only_x & (1 << j) != 0 {
                            *c += share * for_a;
                        } else if only_m & (1 << j) != 0 {
                            *c -= share * for_b;
                        }
                    }
                }
                if s == 0 {
                    break;
                }
                s = (s - 1) & m;
            }
        }
        leaves.push(LeafTable { features: path.features, coefficients });
    }
    TreeTables { leaf_at, leaves }
}

/// The mask of `features` whose every split on the current path the row followed.
fn followed(features: &[usize], strays: &[u32]) -> usize {
    features.iter().enumerate().filter(|&(_, &f)| strays[f] == 0).fold(0, |m, (j, _)| m | (1 << j))
}

/// Visits every leaf with `strays`: per feature, how many splits on the way the row did not
/// follow (all zero between calls).
fn for_each_leaf(tree: &Tree, row: &[f64], strays: &mut [u32], visit: &mut impl FnMut(usize, &[u32])) {
    fn go(tree: &Tree, node: usize, row: &[f64], strays: &mut [u32], visit: &mut impl FnMut(usize, &[u32])) {
        match &tree.nodes[node] {
            TreeNode::Leaf { .. } => visit(node, strays),
            &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                let (hot, cold) = if goes_true(row[feature], threshold, mode, missing_goes_true) {
                    (true_child, false_child)
                } else {
                    (false_child, true_child)
                };
                go(tree, hot, row, strays, visit);
                strays[feature] += 1;
                go(tree, cold, row, strays, visit);
                strays[feature] -= 1;
            }
        }
    }
    go(tree, 0, row, strays, visit);
}

/// Adds one tree's SHAP values of `row` to `phi` (features × outputs).
pub(super) fn explain_tree(
    margin: &Margin<'_>,
    tree: &Tree,
    tables: &TreeTables,
    row: &[f64],
    strays: &mut [u32],
    phi: &mut [f64],
) {
    let n = margin.n_outputs;
    for_each_leaf(tree, row, strays, &mut |node, strays| {
        let TreeNode::Leaf { weights, .. } = &tree.nodes[node] else { return };
        let leaf = &tables.leaves[tables.leaf_at[node]];
        let d = leaf.features.len();
        let x = followed(&leaf.features, strays);
        for (&f, &c) in leaf.features.iter().zip(&leaf.coefficients[x * d..(x + 1) * d]) {
            if c != 0.0 {
                for &(k, w) in weights {
                    phi[f * n + k] += c * margin.scale * f64::from(w);
                }
            }
        }
    });
}
