//! The trees of an ensemble laid out for scoring: every node of every tree in one flat array
//! of small copyable nodes (children as indices, a leaf as a tagged index into one weights
//! table), rather than a vector of enum nodes per tree with a vector of weights per leaf.
//! [`TreeEnsemble`](crate::tree::TreeEnsemble) keeps the plain form (TreeSHAP walks it) and
//! lays this one out per scoring call: it costs one pass over the nodes.

use crate::tree::{BranchMode, Tree, TreeNode, goes_true};

/// Set on a child index that names a leaf (its id in `leaves`) rather than a node.
const LEAF: u32 = 1 << 31;

#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    /// `[false child, true child]`.
    children: [u32; 2],
    mode: BranchMode,
    missing_goes_true: bool,
}

pub(crate) struct Forest {
    nodes: Vec<Node>,
    /// Per tree: its root (a node, or a leaf for a one-leaf tree).
    roots: Vec<u32>,
    /// Per leaf: its weights' range in `weights`.
    leaves: Vec<(u32, u32)>,
    /// (output, weight), leaf after leaf.
    weights: Vec<(u32, f32)>,
    /// The one comparison every branch makes, when they agree (scikit-learn and LightGBM
    /// export `<=`, XGBoost `<`): the walk then needs no match per node.
    uniform: Option<BranchMode>,
}

impl Forest {
    pub(crate) fn new(trees: &[Tree]) -> Forest {
        let mut forest =
            Forest { nodes: Vec::new(), roots: Vec::new(), leaves: Vec::new(), weights: Vec::new(), uniform: None };
        let mut first_mode = None;
        let mut mixed = false;
        for tree in trees {
            // Indices of this tree's nodes in the flat arrays, filled in two passes so
            // children can point forward.
            let mut index = Vec::with_capacity(tree.nodes.len());
            for node in &tree.nodes {
                index.push(match node {
                    TreeNode::Leaf { weights, .. } => {
                        let start = forest.weights.len() as u32;
                        forest.weights.extend(weights.iter().map(|&(k, w)| (k as u32, w)));
                        forest.leaves.push((start, weights.len() as u32));
                        (forest.leaves.len() as u32 - 1) | LEAF
                    }
                    TreeNode::Branch { .. } => {
                        forest.nodes.push(Node {
                            threshold: 0.0,
                            feature: 0,
                            children: [0, 0],
                            mode: BranchMode::Leq,
                            missing_goes_true: false,
                        });
                        forest.nodes.len() as u32 - 1
                    }
                });
            }
            for (node, &at) in tree.nodes.iter().zip(&index) {
                if let TreeNode::Branch {
                    feature, threshold, mode, true_child, false_child, missing_goes_true, ..
                } = node
                {
                    let first = *first_mode.get_or_insert(*mode);
                    mixed |= first != *mode;
                    forest.nodes[at as usize] = Node {
                        threshold: *threshold,
                        feature: *feature as u32,
                        children: [index[*false_child], index[*true_child]],
                        mode: *mode,
                        missing_goes_true: *missing_goes_true,
                    };
                }
            }
            forest.roots.push(index.first().copied().unwrap_or(LEAF));
        }
        forest.uniform = if mixed { None } else { first_mode };
        forest
    }

    pub(crate) fn trees(&self) -> usize {
        self.roots.len()
    }

    /// The leaf `row` reaches in tree `tree`.
    #[inline]
    pub(crate) fn leaf(&self, tree: usize, row: &[f64]) -> u32 {
        match self.uniform {
            Some(BranchMode::Leq) => self.walk(tree, row, |x, t| x <= t),
            Some(BranchMode::Lt) => self.walk(tree, row, |x, t| x < t),
            _ => {
                let mut at = self.roots[tree];
                while at & LEAF == 0 {
                    let n = &self.nodes[at as usize];
                    let x = row.get(n.feature as usize).copied().unwrap_or(f64::NAN);
                    at = n.children[usize::from(goes_true(x, n.threshold, n.mode, n.missing_goes_true))];
                }
                at & !LEAF
            }
        }
    }

    /// The walk with one comparison for every node. A NaN fails `<=` and `<`, so it goes
    /// false unless the node sends missing values true, as [`goes_true`] decides.
    #[inline(always)]
    fn walk(&self, tree: usize, row: &[f64], holds: impl Fn(f64, f64) -> bool) -> u32 {
        let mut at = self.roots[tree];
        while at & LEAF == 0 {
            let n = &self.nodes[at as usize];
            let x = row.get(n.feature as usize).copied().unwrap_or(f64::NAN);
            let go = holds(x, n.threshold) | (n.missing_goes_true & x.is_nan());
            at = n.children[usize::from(go)];
        }
        at & !LEAF
    }

    /// A leaf's (output, weight) pairs.
    #[inline]
    pub(crate) fn weights(&self, leaf: u32) -> &[(u32, f32)] {
        let (start, len) = self.leaves.get(leaf as usize).copied().unwrap_or((0, 0));
        &self.weights[start as usize..(start + len) as usize]
    }
}
