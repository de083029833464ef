//! Path-dependent TreeSHAP with per-leaf tables computed once per ensemble (the idea of
//! Yang 2021, "Fast TreeSHAP", v2): O(leaves × depth) per row and tree instead of
//! Algorithm 2's O(leaves × depth²), at the price of 2^d numbers per leaf (d = distinct
//! features on its path), so it is used tree by tree within a memory budget and only when
//! enough rows are explained to repay the tables.
//!
//! Why it works. A leaf with value v whose path splits on the distinct features F (d of
//! them) adds to feature i ∈ F
//!
//!   v·(o_i − z_i)·Σ_{S ⊆ F∖{i}} w_d(|S|)·Π_{j∈S} o_j·Π_{j∈F∖{i}∖S} z_j,   w_d(k) = k!(d−1−k)!/d!
//!
//! where z_j is the cover share of the path's splits on j and o_j is 1 when the row follows
//! all of them, else 0. Only o depends on the row, through T = {j : o_j = 1}. Writing
//! E(U) = Σ_{S⊆U} w_d(|S|)·Π_{j∈U∖S} z_j and Z = Π_{j∈F∖T} z_j, the sum is Z·E(T∖{i}) for
//! i ∈ T and z_i's term cancels to Z·E(T) for i ∉ T:
//!
//!   i ∈ T: v·(1 − z_i)·Z·E(T∖{i}),    i ∉ T: −v·Z·E(T).
//!
//! E depends on the covers only, so it is tabulated once for every subset of F, as
//! F(T) = Z·E(T) directly; then i ∈ T reads F(T∖{i})·(1 − z_i)/z_i (Z for T∖{i} has the
//! extra factor z_i) and i ∉ T reads −F(T): one lookup per feature and leaf. That needs
//! every z > 0, true of real covers; a tree with an empty child runs Algorithm 2.

use super::Margin;
use super::covers::Covers;
use crate::tree::{Tree, TreeNode, goes_true};

/// Table entries (f64) all trees together may take: 32 MiB.
const TABLE_BUDGET: usize = 1 << 22;

/// A leaf's distinct path features, (1 − z)/z for each, F over every subset T of them
/// (indexed by bitmask over `features`) and its weights times the ensemble's scale.
struct LeafTable {
    node: usize,
    features: Vec<usize>,
    ratio: Vec<f64>,
    table: Vec<f64>,
    outputs: Vec<(usize, f64)>,
}

/// The tables of one tree: per leaf its table; `branches` are the tree's branches in
/// preorder (a parent before its children), for carrying masks down.
pub(super) struct TreeTables {
    leaves: Vec<LeafTable>,
    branches: Vec<FlatBranch>,
}

/// A branch as the mask pass reads it. `slot` is its feature's bit in the masks of the leaves
/// below (features are numbered in the order the path meets them, so the bit is the same for
/// every leaf of the subtree); `first`: the path meets the feature here for the first time.
struct FlatBranch {
    node: u32,
    feature: u32,
    threshold: f64,
    mode: crate::tree::BranchMode,
    missing_goes_true: bool,
    true_child: u32,
    false_child: u32,
    slot: u8,
    first: bool,
}

/// From tree `start` on, the trees whose tables fit the budget together: returns the end of
/// the block and, per tree of it, its tables (built in parallel) or None where Algorithm 2
/// is cheaper (few rows) or a path is too deep to tabulate. At least one tree per block.
pub(super) fn plan_block(
    margin: &Margin<'_>,
    covers: &Covers,
    rows: usize,
    start: usize,
    threads: usize,
) -> (usize, Vec<Option<TreeTables>>) {
    let mut planned: Vec<Option<Vec<LeafPath>>> = Vec::new();
    let mut used = 0usize;
    for (t, tree) in margin.trees.iter().enumerate().skip(start) {
        let paths = leaf_paths(tree, Some(covers.tree(t)));
        let deepest = paths.iter().map(|p| p.features.len()).max().unwrap_or(0);
        let empty_child = paths.iter().any(|p| p.zero.iter().any(|&z| z <= 0.0));
        if deepest > MAX_TABULATED_FEATURES || empty_child {
            planned.push(None);
            continue;
        }
        let entries: usize = paths.iter().map(|p| 1usize << p.features.len()).sum();
        // Tabulating costs ~2^d·d per leaf once; Algorithm 2 costs ~d² per leaf and row.
        let build: usize = paths.iter().map(|p| (1usize << p.features.len()) * p.features.len()).sum();
        let saved = paths.iter().map(|p| p.features.len() * p.features.len()).sum::<usize>().saturating_mul(rows);
        if build >= saved {
            planned.push(None);
            continue;
        }
        if used + entries > TABLE_BUDGET && !planned.is_empty() {
            break;
        }
        used += entries;
        planned.push(Some(paths));
    }
    let end = start + planned.len();
    (end, tabulate_all(margin, start, planned, threads))
}

/// Paths with more distinct features than this run Algorithm 2 (2^d entries per leaf).
const MAX_TABULATED_FEATURES: usize = 16;

/// Tabulates the planned trees, split over `threads`.
fn tabulate_all(
    margin: &Margin<'_>,
    start: usize,
    planned: Vec<Option<Vec<LeafPath>>>,
    threads: usize,
) -> Vec<Option<TreeTables>> {
    let parts = threads.min(planned.len()).max(1);
    if parts == 1 {
        let tabulate_one = |(i, paths): (usize, Option<Vec<LeafPath>>)| {
            paths.map(|p| tabulate(&margin.trees[start + i], p, margin.scale))
        };
        return planned.into_iter().enumerate().map(tabulate_one).collect();
    }
    let per_part = planned.len().div_ceil(parts).max(1);
    let mut planned = planned;
    let mut out: Vec<Option<TreeTables>> = Vec::with_capacity(planned.len());
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut first = start;
        while !planned.is_empty() {
            let rest = planned.split_off(per_part.min(planned.len()));
            let part = std::mem::replace(&mut planned, rest);
            let from = first;
            first += part.len();
            let len = part.len();
            let handle = scope.spawn(move || {
                part.into_iter()
                    .enumerate()
                    .map(|(i, paths)| paths.map(|p| tabulate(&margin.trees[from + i], p, margin.scale)))
                    .collect::<Vec<_>>()
            });
            handles.push((len, handle));
        }
        for (len, h) in handles {
            // A tabulating thread cannot fail short of a bug; its trees then run Algorithm 2.
            match h.join() {
                Ok(tables) => out.extend(tables),
                Err(_) => out.extend(std::iter::repeat_with(|| None).take(len)),
            }
        }
    });
    out
}

/// A leaf's path before tabulation.
pub(super) struct LeafPath {
    pub node: usize,
    pub features: Vec<usize>,
    pub zero: Vec<f64>,
}

/// Every leaf's distinct features and the product of cover shares of the splits on each
/// (1 without covers).
pub(super) fn leaf_paths(tree: &Tree, cover: Option<&[f64]>) -> Vec<LeafPath> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, Vec::<usize>::new(), Vec::<f64>::new())];
    while let Some((node, features, zero)) = stack.pop() {
        match &tree.nodes[node] {
            TreeNode::Leaf { .. } => out.push(LeafPath { node, features, zero }),
            TreeNode::Branch { feature, true_child, false_child, .. } => {
                for child in [*true_child, *false_child] {
                    let share = match cover {
                        Some(c) if c[node] > 0.0 => c[child] / c[node],
                        Some(_) => 0.0,
                        None => 1.0,
                    };
                    let (mut f, mut z) = (features.clone(), zero.clone());
                    match f.iter().position(|g| g == feature) {
                        Some(i) => z[i] *= share,
                        None => {
                            f.push(*feature);
                            z.push(share);
                        }
                    }
                    stack.push((child, f, z));
                }
            }
        }
    }
    out
}

fn tabulate(tree: &Tree, paths: Vec<LeafPath>, scale: f64) -> TreeTables {
    let leaves = paths
        .into_iter()
        .map(|p| {
            let mut table = subset_sums(&p.zero);
            for (mask, f) in table.iter_mut().enumerate() {
                // F(T) = Z·E(T), Z = Π_{j∉T} z_j.
                *f *= p.zero.iter().enumerate().filter(|&(j, _)| mask & (1 << j) == 0).map(|(_, z)| z).product::<f64>();
            }
            let ratio = p.zero.iter().map(|z| (1.0 - z) / z).collect();
            let outputs = match &tree.nodes[p.node] {
                TreeNode::Leaf { weights, .. } => weights.iter().map(|&(k, w)| (k, scale * f64::from(w))).collect(),
                TreeNode::Branch { .. } => Vec::new(),
            };
            LeafTable { node: p.node, features: p.features, ratio, table, outputs }
        })
        .collect();
    TreeTables { leaves, branches: flat_branches(tree) }
}

/// The tree's branches in preorder with their bits (see [`FlatBranch`]).
fn flat_branches(tree: &Tree) -> Vec<FlatBranch> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, Vec::<usize>::new())];
    while let Some((node, mut features)) = stack.pop() {
        if let &TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } =
            &tree.nodes[node]
        {
            let (slot, first) = match features.iter().position(|&f| f == feature) {
                Some(at) => (at, false),
                None => {
                    features.push(feature);
                    (features.len() - 1, true)
                }
            };
            // Paths with more than MAX_TABULATED_FEATURES features are never tabulated.
            out.push(FlatBranch {
                node: node as u32,
                feature: feature as u32,
                threshold,
                mode,
                missing_goes_true,
                true_child: true_child as u32,
                false_child: false_child as u32,
                slot: slot as u8,
                first,
            });
            stack.push((false_child, features.clone()));
            stack.push((true_child, features));
        }
    }
    out
}

/// E(U) for every U ⊆ {0..d}: Σ_k w_d(k)·c_U(k), where c_U(k) sums Π_{j∈U∖S} z_j over the
/// S ⊆ U of size k (built by adding one feature at a time: c_{U+j}(k) = z_j·c_U(k) + c_U(k−1)).
fn subset_sums(zero: &[f64]) -> Vec<f64> {
    let d = zero.len();
    // w_d(k) = k!(d−1−k)!/d!, computed as 1/(d·C(d−1, k)).
    let weights: Vec<f64> = (0..d)
        .map(|k| {
            let mut binom = 1.0;
            for i in 0..k {
                binom = binom * (d - 1 - i) as f64 / (i + 1) as f64;
            }
            1.0 / (d as f64 * binom)
        })
        .collect();
    let width = d + 1;
    let mut c = vec![0.0; (1usize << d) * width];
    c[0] = 1.0;
    let mut table = vec![0.0; 1usize << d];
    for mask in 1usize..(1 << d) {
        let j = usize::BITS as usize - 1 - mask.leading_zeros() as usize;
        let prev = mask & !(1 << j);
        for k in 0..=mask.count_ones() as usize {
            let keep = zero[j] * c[prev * width + k];
            let add = if k > 0 { c[prev * width + k - 1] } else { 0.0 };
            c[mask * width + k] = keep + add;
        }
    }
    for (mask, e) in table.iter_mut().enumerate() {
        // |U| = d is never looked up (some feature is always left out); w_d(d) is undefined.
        *e = (0..=mask.count_ones() as usize).filter(|&k| k < d).map(|k| weights[k] * c[mask * width + k]).sum();
    }
    table
}

/// Rows explained together against one tree's tables: each leaf's table is read once for
/// all of them while it is in cache, instead of once per row (the tables of a deep tree do
/// not fit the per-core cache, and per-row lookups into them were the bottleneck).
pub(super) const ROW_BLOCK: usize = 64;

/// Adds one tree's SHAP values of up to [`ROW_BLOCK`] rows to `phi` (rows × features ×
/// outputs); `masks` is scratch space kept between calls.
pub(super) fn explain_rows(
    margin: &Margin<'_>,
    tree: &Tree,
    tables: &TreeTables,
    rows: &[&[f64]],
    phi: &mut [f64],
    masks: &mut Vec<u32>,
) {
    let n = rows.len();
    masks.clear();
    masks.resize(tree.nodes.len() * n, 0);
    // Pass 1, branch by branch from the root, for all rows at once: which of each leaf's path
    // features a row follows at every split (T as a bitmask), carried down to the leaves.
    for b in &tables.branches {
        let bit = 1u32 << b.slot;
        let (at, t, f) = (b.node as usize * n, b.true_child as usize * n, b.false_child as usize * n);
        for (r, row) in rows.iter().enumerate() {
            let mask = masks[at + r];
            let (hot, cold) = if goes_true(row[b.feature as usize], b.threshold, b.mode, b.missing_goes_true) {
                (t, f)
            } else {
                (f, t)
            };
            masks[hot + r] = if b.first { mask | bit } else { mask };
            masks[cold + r] = mask & !bit;
        }
    }
    // Pass 2, per leaf: its table against every row's T.
    let width = phi.len() / n.max(1);
    let n_outputs = margin.n_outputs;
    for leaf in &tables.leaves {
        for (r, &followed) in masks[leaf.node * n..(leaf.node + 1) * n].iter().enumerate() {
            let followed = followed as usize;
            let phi = &mut phi[r * width..(r + 1) * width];
            let absent = -leaf.table[followed];
            for (j, (&f, &ratio)) in leaf.features.iter().zip(&leaf.ratio).enumerate() {
                let share = if followed & (1 << j) != 0 { ratio * leaf.table[followed ^ (1 << j)] } else { absent };
                for &(k, w) in &leaf.outputs {
                    phi[f * n_outputs + k] += share * w;
                }
            }
        }
    }
}
