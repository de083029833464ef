//! Tree ensembles (ai.onnx.ml TreeEnsembleClassifier / TreeEnsembleRegressor) as plain data, so
//! explanations (TreeSHAP) can walk the same trees the evaluator runs, and their evaluation,
//! aggregated as onnxruntime does (float32 sums in tree order, its binary-class conventions).

use std::collections::HashMap;

use crate::ModelError;
use crate::attrs::Attrs;
use crate::transform::{PostTransform, logistic};

/// Rows that walk each tree together when scoring (their features stay in L1/L2).
const ROW_BLOCK: usize = 64;

/// How a branch compares the feature with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchMode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TreeNode {
    Branch {
        feature: usize,
        /// The threshold as the model stores it (a float32 widened exactly, or a double).
        threshold: f64,
        mode: BranchMode,
        /// Index into the tree's `nodes` when the comparison holds.
        true_child: usize,
        false_child: usize,
        /// A missing (NaN) value goes to `true_child` instead of failing the comparison.
        missing_goes_true: bool,
        /// `nodes_hitrates` when exported (sample share reaching the node), else None.
        hitrate: Option<f32>,
    },
    /// Weights added to outputs (class or target index, weight).
    Leaf {
        weights: Vec<(usize, f32)>,
        /// `nodes_hitrates` when exported, else None.
        hitrate: Option<f32>,
    },
}

/// One tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// Class labels of a classifier.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassLabels {
    Int(Vec<i64>),
    Str(Vec<String>),
}

impl ClassLabels {
    pub fn len(&self) -> usize {
        match self {
            ClassLabels::Int(v) => v.len(),
            ClassLabels::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels as text (for column names such as `proba_<class>`).
    pub fn names(&self) -> Vec<String> {
        match self {
            ClassLabels::Int(v) => v.iter().map(i64::to_string).collect(),
            ClassLabels::Str(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnsembleKind {
    Classifier { labels: ClassLabels },
    Regressor { aggregate: Aggregate },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TreeEnsemble {
    pub kind: EnsembleKind,
    pub trees: Vec<Tree>,
    /// Number of classes (classifier) or targets (regressor): the width of the score vector.
    pub n_outputs: usize,
    pub base_values: Vec<f32>,
    pub post_transform: PostTransform,
}

/// The raw per-row result: labels (classifiers) and scores.
pub struct EnsembleOutput {
    pub labels: Vec<usize>,
    pub scores: Vec<f32>,
    pub width: usize,
}

impl TreeEnsemble {
    pub fn from_attrs(attrs: &Attrs, classifier: bool) -> Result<TreeEnsemble, ModelError> {
        let prefix = if classifier { "class" } else { "target" };
        let (kind, n_outputs) = if classifier {
            let labels = if let Some(ints) = attrs.ints_opt("classlabels_int64s") {
                ClassLabels::Int(ints.to_vec())
            } else {
                ClassLabels::Str(attrs.strings("classlabels_strings")?)
            };
            let n = labels.len();
            (EnsembleKind::Classifier { labels }, n)
        } else {
            let aggregate = match attrs.string_or("aggregate_function", "SUM")?.as_str() {
                "SUM" => Aggregate::Sum,
                "AVERAGE" => Aggregate::Average,
                "MIN" => Aggregate::Min,
                "MAX" => Aggregate::Max,
                other => return Err(attrs.bad(&format!("unknown aggregate_function {other}"))),
            };
            let n = usize::try_from(attrs.int_or("n_targets", 1)).map_err(|_| attrs.bad("n_targets"))?;
            (EnsembleKind::Regressor { aggregate }, n)
        };
        if n_outputs == 0 || (classifier && n_outputs < 2) {
            return Err(attrs.bad("a classifier needs two classes or more, a regressor a target"));
        }
        let trees = build_trees(attrs, prefix, n_outputs)?;
        let base_values = attrs.floats_or_tensor("base_values")?.unwrap_or_default();
        let post_transform = PostTransform::parse(&attrs.string_or("post_transform", "NONE")?)?;
        Ok(TreeEnsemble { kind, trees, n_outputs, base_values, post_transform })
    }

    /// Raw sums of leaf weights per row and output, in tree order (float32, as onnxruntime).
    fn accumulate(&self, x: &[f64], rows: usize, cols: usize) -> (Vec<f32>, Vec<bool>) {
        let width = self.n_outputs;
        let mut scores = vec![0f32; rows * width];
        let mut has = vec![false; rows * width];
        let aggregate = match self.kind {
            EnsembleKind::Regressor { aggregate } => aggregate,
            EnsembleKind::Classifier { .. } => Aggregate::Sum,
        };
        // Rows in blocks, trees in order within each block: a tree's nodes stay in cache while
        // the block's rows walk it, and every row still adds its leaves in tree order (float32
        // sums as onnxruntime makes them).
        let forest = crate::forest::Forest::new(&self.trees);
        for start in (0..rows).step_by(ROW_BLOCK) {
            let end = (start + ROW_BLOCK).min(rows);
            for tree in 0..forest.trees() {
                for r in start..end {
                    let row = &x[r * cols..(r + 1) * cols];
                    let leaf = forest.leaf(tree, row);
                    for &(k, w) in forest.weights(leaf) {
                        let k = r * width + k as usize;
                        scores[k] = match aggregate {
                            Aggregate::Sum | Aggregate::Average => scores[k] + w,
                            Aggregate::Min if has[k] => scores[k].min(w),
                            Aggregate::Max if has[k] => scores[k].max(w),
                            Aggregate::Min | Aggregate::Max => w,
                        };
                        has[k] = true;
                    }
                }
            }
        }
        (scores, has)
    }

    /// Scores rows × cols features (row-major).
    pub fn eval(&self, x: &[f64], rows: usize, cols: usize) -> EnsembleOutput {
        let (mut scores, has) = self.accumulate(x, rows, cols);
        match &self.kind {
            EnsembleKind::Regressor { aggregate } => {
                self.finish_regression(&mut scores, *aggregate);
                EnsembleOutput { labels: Vec::new(), scores, width: self.n_outputs }
            }
            EnsembleKind::Classifier { .. } => self.finish_classification(scores, &has, rows),
        }
    }

    fn finish_regression(&self, scores: &mut [f32], aggregate: Aggregate) {
        let width = self.n_outputs;
        let n_trees = self.trees.len() as f32;
        let per_target_base = self.base_values.len() == width;
        let origin = if self.base_values.len() == 1 { self.base_values[0] } else { 0.0 };
        for row in scores.chunks_mut(width) {
            for (k, s) in row.iter_mut().enumerate() {
                if aggregate == Aggregate::Average {
                    *s /= n_trees;
                }
                if width == 1 {
                    *s += origin;
                } else if per_target_base {
                    *s += self.base_values[k];
                }
            }
            if width > 1 || self.post_transform == PostTransform::Probit {
                self.post_transform.apply(row);
            }
        }
    }

    /// onnxruntime's classifier finalisation: binary models whose leaves only score class 0
    /// give `[1 - p, p]` (all weights positive, e.g. random forests) or the logistic of ±score.
    fn finish_classification(&self, scores: Vec<f32>, has: &[bool], rows: usize) -> EnsembleOutput {
        let width = self.n_outputs;
        let mut labels = Vec::with_capacity(rows);
        let mut out = Vec::with_capacity(rows * width.max(2));
        let (binary_case, all_positive) = self.binary_shape();
        for r in 0..rows {
            let mut row: Vec<f32> = scores[r * width..(r + 1) * width].to_vec();
            let seen = &has[r * width..(r + 1) * width];
            if width > 2 {
                for (k, b) in self.base_values.iter().enumerate().take(width) {
                    row[k] += b;
                }
                let label = argmax_seen(&row, seen, self.base_values.len() == width);
                self.post_transform.apply(&mut row);
                labels.push(label);
                out.extend_from_slice(&row);
                continue;
            }
            let (label, probs) = self.binary(&mut row, seen, binary_case, all_positive);
            labels.push(label);
            out.extend_from_slice(&probs);
        }
        EnsembleOutput { labels, scores: out, width: width.max(2) }
    }

    fn binary_shape(&self) -> (bool, bool) {
        let mut classes = std::collections::BTreeSet::new();
        let mut all_positive = true;
        for tree in &self.trees {
            for node in &tree.nodes {
                if let TreeNode::Leaf { weights, .. } = node {
                    for &(k, w) in weights {
                        classes.insert(k);
                        all_positive &= w >= 0.0;
                    }
                }
            }
        }
        (self.n_outputs == 2 && classes.len() == 1, all_positive)
    }

    /// Two classes: returns the label index and `[p0, p1]`, following onnxruntime's
    /// `TreeAggregatorClassifier::FinalizeScores` case by case.
    fn binary(&self, row: &mut [f32], seen: &[bool], binary_case: bool, all_positive: bool) -> (usize, [f32; 2]) {
        let has1 = seen.get(1).copied().unwrap_or(false);
        let mut second = -1; // onnxruntime's `add_second_class`
        let two = match self.base_values.len() {
            2 => {
                if has1 {
                    row[1] = self.base_values[1] + row[0];
                    row[0] = -row[1];
                } else {
                    row[1] += self.base_values[1];
                    row[0] += self.base_values[0];
                }
                true
            }
            1 => {
                row[0] += self.base_values[0];
                has1
            }
            0 => {
                second = 3;
                has1
            }
            _ => true,
        };
        let pos = if has1 { row[1] } else { row[0] };
        let label = if binary_case {
            let win = if all_positive { pos > 0.5 } else { pos > 0.0 };
            second = match (all_positive, win) {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (false, false) => 3,
            };
            usize::from(win)
        } else {
            usize::from(pos > 0.0)
        };
        if two {
            let mut pair = [row[0], row[1]];
            self.post_transform.apply(&mut pair);
            return (label, pair);
        }
        let s = row[0];
        let logistic_pt = self.post_transform == PostTransform::Logistic;
        let probs = match second {
            _ if self.post_transform == PostTransform::Probit => [crate::transform::probit(s), 0.0],
            0 | 1 => [1.0 - s, s],
            2 | 3 if logistic_pt => [logistic(-s), logistic(s)],
            2 => [-s, s],
            3 => [s, -s],
            _ => [s, 0.0],
        };
        (label, probs)
    }
}

/// The highest score among outputs that received a score (onnxruntime ignores the others).
fn argmax_seen(row: &[f32], seen: &[bool], all_seen: bool) -> usize {
    let mut best: Option<usize> = None;
    for (k, &v) in row.iter().enumerate() {
        if (all_seen || seen[k]) && best.is_none_or(|b| v > row[b]) {
            best = Some(k);
        }
    }
    best.unwrap_or(0)
}

impl Tree {
    /// The weights of the leaf `row` reaches.
    pub fn leaf_weights(&self, row: &[f64]) -> &[(usize, f32)] {
        let mut at = 0;
        loop {
            match &self.nodes[at] {
                TreeNode::Leaf { weights, .. } => return weights,
                TreeNode::Branch { feature, threshold, mode, true_child, false_child, missing_goes_true, .. } => {
                    let x = row.get(*feature).copied().unwrap_or(f64::NAN);
                    at = if goes_true(x, *threshold, *mode, *missing_goes_true) { *true_child } else { *false_child };
                }
            }
        }
    }
}

/// Whether a row's value `x` takes the branch's true child (as onnxruntime decides).
pub(crate) fn goes_true(x: f64, threshold: f64, mode: BranchMode, missing_goes_true: bool) -> bool {
    if x.is_nan() && missing_goes_true {
        return true;
    }
    match mode {
        BranchMode::Leq => x <= threshold,
        BranchMode::Lt => x < threshold,
        BranchMode::Gte => x >= threshold,
        BranchMode::Gt => x > threshold,
        BranchMode::Eq => x == threshold,
        BranchMode::Neq => x != threshold,
    }
}

/// Builds the trees from the flat `nodes_*` and `<prefix>_*` attribute arrays.
fn build_trees(attrs: &Attrs, prefix: &str, n_outputs: usize) -> Result<Vec<Tree>, ModelError> {
    let tree_ids = attrs.ints("nodes_treeids")?;
    let node_ids = attrs.ints("nodes_nodeids")?;
    let features = attrs.ints("nodes_featureids")?;
    let thresholds = attrs.floats_or_tensor("nodes_values")?.map(|v| v.into_iter().map(f64::from).collect::<Vec<_>>());
    let thresholds = match thresholds {
        Some(t) => t,
        None => attrs.doubles_tensor("nodes_values_as_tensor")?.unwrap_or_default(),
    };
    let modes = attrs.strings("nodes_modes")?;
    let trues = attrs.ints("nodes_truenodeids")?;
    let falses = attrs.ints("nodes_falsenodeids")?;
    let missing = attrs.ints_opt("nodes_missing_value_tracks_true").map(<[i64]>::to_vec).unwrap_or_default();
    let hitrates = attrs.floats_or_tensor("nodes_hitrates")?.unwrap_or_default();
    let n = tree_ids.len();
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", trues.len()),
        ("nodes_falsenodeids", falses.len()),
    ] {
        if len != n {
            return Err(attrs.bad(&format!("{name} has {len} entries, nodes_treeids {n}")));
        }
    }
    if thresholds.len() != n {
        return Err(attrs.bad("nodes_values does not match nodes_treeids"));
    }
    // Trees in order of first appearance; node index within its tree by appearance too.
    let mut tree_index: HashMap<i64, usize> = HashMap::new();
    let mut position: HashMap<(i64, i64), (usize, usize)> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let t = *tree_index.entry(tree_ids[i]).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        position.insert((tree_ids[i], node_ids[i]), (t, members[t].len()));
        members[t].push(i);
    }
    let child = |tree: i64, id: i64| -> Result<usize, ModelError> {
        position.get(&(tree, id)).map(|p| p.1).ok_or_else(|| attrs.bad(&format!("tree {tree} has no node {id}")))
    };
    let mut leaf_weights: HashMap<(usize, usize), Vec<(usize, f32)>> = HashMap::new();
    let w_tree = attrs.ints(&format!("{prefix}_treeids"))?;
    let w_node = attrs.ints(&format!("{prefix}_nodeids"))?;
    let w_id = attrs.ints(&format!("{prefix}_ids"))?;
    let w_value = attrs.floats_or_tensor(&format!("{prefix}_weights"))?.unwrap_or_default();
    if w_node.len() != w_tree.len() || w_id.len() != w_tree.len() || w_value.len() != w_tree.len() {
        return Err(attrs.bad(&format!("{prefix}_* arrays differ in length")));
    }
    for i in 0..w_tree.len() {
        let at = *position
            .get(&(w_tree[i], w_node[i]))
            .ok_or_else(|| attrs.bad("a weight names a node that does not exist"))?;
        let k = usize::try_from(w_id[i])
            .ok()
            .filter(|&k| k < n_outputs)
            .ok_or_else(|| attrs.bad(&format!("{prefix}_ids out of range")))?;
        leaf_weights.entry(at).or_default().push((k, w_value[i]));
    }
    let mut trees = Vec::with_capacity(members.len());
    for (t, idx) in members.iter().enumerate() {
        let mut nodes = Vec::with_capacity(idx.len());
        for (local, &i) in idx.iter().enumerate() {
            let mode = match modes[i].as_str() {
                "LEAF" => None,
                "BRANCH_LEQ" => Some(BranchMode::Leq),
                "BRANCH_LT" => Some(BranchMode::Lt),
                "BRANCH_GTE" => Some(BranchMode::Gte),
                "BRANCH_GT" => Some(BranchMode::Gt),
                "BRANCH_EQ" => Some(BranchMode::Eq),
                "BRANCH_NEQ" => Some(BranchMode::Neq),
                other => return Err(attrs.bad(&format!("unknown node mode {other}"))),
            };
            nodes.push(match mode {
                None => TreeNode::Leaf {
                    weights: leaf_weights.remove(&(t, local)).unwrap_or_default(),
                    hitrate: hitrates.get(i).copied(),
                },
                Some(mode) => TreeNode::Branch {
                    feature: usize::try_from(features[i]).map_err(|_| attrs.bad("negative feature id"))?,
                    threshold: thresholds[i],
                    mode,
                    true_child: child(tree_ids[i], trues[i])?,
                    false_child: child(tree_ids[i], falses[i])?,
                    missing_goes_true: missing.get(i).is_some_and(|&m| m != 0),
                    hitrate: hitrates.get(i).copied(),
                },
            });
        }
        check_acyclic(&nodes).map_err(|e| attrs.bad(&e))?;
        trees.push(Tree { nodes });
    }
    Ok(trees)
}

/// Every node is reached from the root at most once: a tree, not a graph with shared or
/// cyclic children (a cycle would loop forever at prediction time).
fn check_acyclic(nodes: &[TreeNode]) -> Result<(), String> {
    let mut visited = vec![false; nodes.len()];
    let mut stack = vec![0usize];
    while let Some(at) = stack.pop() {
        if std::mem::replace(&mut visited[at], true) {
            return Err("a tree node is reached twice (shared child or cycle)".into());
        }
        if let TreeNode::Branch { true_child, false_child, .. } = &nodes[at] {
            stack.push(*true_child);
            stack.push(*false_child);
        }
    }
    Ok(())
}
