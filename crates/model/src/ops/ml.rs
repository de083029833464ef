//! The ai.onnx.ml operators: scalers, encoders, imputers, normalisers, feature vectors,
//! linear models and tree ensembles.

use super::*;

pub(super) fn scaler(t: &Tensor, offset: &[f32], scale: &[f32]) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    let pick = |v: &[f32], j: usize, default: f32| -> f32 {
        match v.len() {
            0 => default,
            1 => v[0],
            _ => v.get(j).copied().unwrap_or(default),
        }
    };
    for (name, v) in [("offset", offset), ("scale", scale)] {
        if v.len() > 1 && v.len() != cols {
            return Err(bad("Scaler", format!("{name} has {} values for {cols} columns", v.len())));
        }
    }
    let out: Vec<f32> = match &t.data {
        // A double input is scaled in double and narrowed, as onnxruntime does.
        Data::F64(x) => x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                ((v - f64::from(pick(offset, i % cols, 0.0))) * f64::from(pick(scale, i % cols, 1.0))) as f32
            })
            .collect(),
        _ => t
            .to_f32()?
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - pick(offset, i % cols, 0.0)) * pick(scale, i % cols, 1.0))
            .collect(),
    };
    Ok(Tensor::f32(t.shape.clone(), out))
}

pub(super) fn one_hot(t: &Tensor, cats: &Categories, zeros: bool) -> Result<Tensor, ModelError> {
    let n = match cats {
        Categories::Int(v) => v.len(),
        Categories::Str(v) => v.len(),
    };
    let positions: Vec<Option<usize>> = match (cats, &t.data) {
        (Categories::Str(c), Data::Str(v)) => {
            let map: HashMap<&str, usize> = c.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
            v.iter().map(|s| map.get(s.as_str()).copied()).collect()
        }
        (Categories::Int(c), Data::Str(_)) | (Categories::Int(c), _) if !matches!(t.data, Data::Str(_)) => {
            let map: HashMap<i64, usize> = c.iter().enumerate().map(|(i, &s)| (s, i)).collect();
            t.to_i64()?.iter().map(|s| map.get(s).copied()).collect()
        }
        _ => return Err(bad("OneHotEncoder", format!("{} input for these categories", t.data.type_name()))),
    };
    let mut out = vec![0f32; positions.len() * n];
    for (r, p) in positions.iter().enumerate() {
        match p {
            Some(j) => out[r * n + j] = 1.0,
            None if !zeros => return Err(bad("OneHotEncoder", "a value is not one of the categories")),
            None => {}
        }
    }
    let mut shape = t.shape.clone();
    shape.push(n);
    Ok(Tensor::f32(shape, out))
}

impl LabelEncoder {
    pub(super) fn run(&self, t: &Tensor) -> Result<Tensor, ModelError> {
        let index: Vec<Option<usize>> = match (&self.keys, &t.data) {
            (Data::Str(k), Data::Str(v)) => {
                let map: HashMap<&str, usize> = k.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
                v.iter().map(|s| map.get(s.as_str()).copied()).collect()
            }
            (Data::I64(k), _) => {
                let map: HashMap<i64, usize> = k.iter().enumerate().map(|(i, &s)| (s, i)).collect();
                t.to_i64()?.iter().map(|s| map.get(s).copied()).collect()
            }
            (Data::F32(k), _) => {
                let x = t.to_f32()?;
                x.iter().map(|v| k.iter().position(|kk| kk == v || (kk.is_nan() && v.is_nan()))).collect()
            }
            _ => return Err(bad("LabelEncoder", format!("{} input for these keys", t.data.type_name()))),
        };
        let data = match (&self.values, &self.default) {
            (Data::Str(v), Data::Str(d)) => {
                Data::Str(index.iter().map(|i| i.map_or(d[0].clone(), |i| v[i].clone())).collect())
            }
            (Data::I64(v), Data::I64(d)) => Data::I64(index.iter().map(|i| i.map_or(d[0], |i| v[i])).collect()),
            (Data::F32(v), Data::F32(d)) => Data::F32(index.iter().map(|i| i.map_or(d[0], |i| v[i])).collect()),
            _ => return Err(bad("LabelEncoder", "unsupported value type")),
        };
        Ok(Tensor { shape: t.shape.clone(), data })
    }
}

pub(super) fn impute(
    t: &Tensor,
    floats: &[f32],
    replaced_float: f32,
    ints: &[i64],
    replaced_int: i64,
) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    match &t.data {
        Data::I64(v) => {
            let out = v
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    if x == replaced_int {
                        if ints.len() == 1 { ints[0] } else { ints.get(i % cols).copied().unwrap_or(x) }
                    } else {
                        x
                    }
                })
                .collect();
            Ok(Tensor { shape: t.shape.clone(), data: Data::I64(out) })
        }
        _ => {
            if floats.len() != 1 && floats.len() != cols {
                return Err(bad("Imputer", format!("{} imputed values for {cols} columns", floats.len())));
            }
            let hit = |x: f32| if replaced_float.is_nan() { x.is_nan() } else { x == replaced_float };
            let out = t
                .to_f32()?
                .iter()
                .enumerate()
                .map(|(i, &x)| if hit(x) { if floats.len() == 1 { floats[0] } else { floats[i % cols] } } else { x })
                .collect();
            Ok(Tensor::f32(t.shape.clone(), out))
        }
    }
}

/// Row-wise normalisation as onnxruntime computes it (L2 as `±sqrt(x² / Σx²)`; a zero norm
/// leaves the row as it is).
pub(super) fn normalize(t: &Tensor, norm: Norm) -> Result<Tensor, ModelError> {
    let (_, cols) = t.rows_cols()?;
    let squares: Vec<f32> = match &t.data {
        Data::F64(v) => v.iter().map(|x| (x * x) as f32).collect(),
        _ => t.to_f32()?.iter().map(|x| x * x).collect(),
    };
    let mut v = t.to_f32()?;
    for (row, sq) in v.chunks_mut(cols.max(1)).zip(squares.chunks(cols.max(1))) {
        match norm {
            Norm::Max | Norm::L1 => {
                let d = if norm == Norm::Max {
                    row.iter().copied().fold(f32::MIN, f32::max)
                } else {
                    row.iter().map(|x| x.abs()).sum()
                };
                if d != 0.0 {
                    row.iter_mut().for_each(|x| *x /= d);
                }
            }
            Norm::L2 => {
                let sum: f32 = sq.iter().sum();
                if sum != 0.0 {
                    for (x, s) in row.iter_mut().zip(sq) {
                        let r = (s / sum).sqrt();
                        *x = if *x < 0.0 { -r } else { r };
                    }
                }
            }
        }
    }
    Ok(Tensor::f32(t.shape.clone(), v))
}

pub(super) fn feature_vectorizer(inputs: &[Option<&Tensor>], dims: &[usize]) -> Result<Tensor, ModelError> {
    let parts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let rows = parts.first().map(|t| t.rows_cols().map(|(r, _)| r)).transpose()?.unwrap_or(0);
    let total: usize = dims.iter().sum();
    let mut out = vec![0f32; rows * total];
    let mut at = 0;
    for (p, &d) in parts.iter().zip(dims) {
        let (r, c) = p.rows_cols()?;
        if r != rows {
            return Err(bad("FeatureVectorizer", "inputs differ in rows"));
        }
        let v = p.to_f32()?;
        for i in 0..rows {
            for j in 0..d.min(c) {
                out[i * total + at + j] = v[i * c + j];
            }
        }
        at += d;
    }
    Ok(Tensor::f32(vec![rows, total], out))
}

pub(super) fn array_feature_extractor(t: &Tensor, indices: &Tensor) -> Result<Tensor, ModelError> {
    let last = *t.shape.last().ok_or_else(|| bad("ArrayFeatureExtractor", "scalar input"))?;
    let idx: Vec<usize> = indices
        .to_i64()?
        .into_iter()
        .map(|i| {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < last)
                .ok_or_else(|| bad("ArrayFeatureExtractor", format!("index {i} out of range")))
        })
        .collect::<Result<_, _>>()?;
    let outer = t.len() / last.max(1);
    let index: Vec<usize> = (0..outer).flat_map(|o| idx.iter().map(move |&i| o * last + i)).collect();
    let mut shape = if t.shape.len() == 1 { vec![1] } else { t.shape[..t.shape.len() - 1].to_vec() };
    shape.push(idx.len());
    Ok(t.take(shape, &index))
}

pub(super) fn category_mapper(
    t: &Tensor,
    ints: &[i64],
    strings: &[String],
    default_int: i64,
    default_string: &str,
) -> Result<Tensor, ModelError> {
    let data = match &t.data {
        Data::Str(v) => {
            let map: HashMap<&str, i64> = strings.iter().zip(ints).map(|(s, &i)| (s.as_str(), i)).collect();
            Data::I64(v.iter().map(|s| map.get(s.as_str()).copied().unwrap_or(default_int)).collect())
        }
        _ => {
            let map: HashMap<i64, &str> = ints.iter().zip(strings).map(|(&i, s)| (i, s.as_str())).collect();
            Data::Str(t.to_i64()?.iter().map(|i| map.get(i).copied().unwrap_or(default_string).to_string()).collect())
        }
    };
    Ok(Tensor { shape: t.shape.clone(), data })
}

/// Scores X·Wᵀ + b for `targets` rows of coefficients.
pub(super) fn linear_scores(
    t: &Tensor,
    coefficients: &[f32],
    intercepts: &[f32],
    targets: usize,
    op: &str,
) -> Result<(usize, Vec<f32>), ModelError> {
    let (rows, cols) = t.rows_cols()?;
    if coefficients.len() != targets * cols {
        return Err(bad(op, format!("{} coefficients for {targets} outputs × {cols} features", coefficients.len())));
    }
    let x = t.to_f32()?;
    let mut out = matmul2_fused(&x, &transpose(coefficients, targets, cols), rows, cols, targets);
    if intercepts.len() == targets {
        for row in out.chunks_mut(targets) {
            row.iter_mut().zip(intercepts).for_each(|(s, b)| *s += b);
        }
    }
    Ok((rows, out))
}

impl LinearClassifier {
    pub(super) fn run(&self, t: &Tensor) -> Result<Vec<Tensor>, ModelError> {
        let (_, cols) = t.rows_cols()?;
        let targets =
            if self.intercepts.is_empty() { self.coefficients.len() / cols.max(1) } else { self.intercepts.len() };
        let (rows, scores) = linear_scores(t, &self.coefficients, &self.intercepts, targets, "LinearClassifier")?;
        let mut label_idx = Vec::with_capacity(rows);
        let mut probs = Vec::with_capacity(rows * targets.max(2));
        for row in scores.chunks(targets.max(1)) {
            if targets == 1 {
                label_idx.push(usize::from(row[0] > 0.0));
            } else {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate().skip(1) {
                    if v > row[best] {
                        best = j;
                    }
                }
                label_idx.push(best);
            }
            let mut r = row.to_vec();
            self.post_transform.apply(&mut r);
            if targets == 1 && self.labels.len() == 2 {
                probs.extend_from_slice(&[1.0 - r[0], r[0]]);
            } else {
                probs.extend_from_slice(&r);
            }
        }
        let width = probs.len() / rows.max(1);
        let labels = labels_tensor(&self.labels, &label_idx, targets == 1);
        Ok(vec![labels, Tensor::f32(vec![rows, width], probs)])
    }
}

/// The label tensor for chosen class indices (binary models without two labels use 0/1).
pub(super) fn labels_tensor(labels: &ClassLabels, idx: &[usize], binary_default: bool) -> Tensor {
    let data = match labels {
        ClassLabels::Int(l) if l.len() > 1 || !binary_default => {
            Data::I64(idx.iter().map(|&i| l.get(i).copied().unwrap_or(i as i64)).collect())
        }
        ClassLabels::Str(l) if !l.is_empty() => {
            Data::Str(idx.iter().map(|&i| l.get(i).cloned().unwrap_or_else(|| i.to_string())).collect())
        }
        _ => Data::I64(idx.iter().map(|&i| i as i64).collect()),
    };
    Tensor { shape: vec![idx.len()], data }
}

pub(super) fn linear_regressor(
    t: &Tensor,
    coefficients: &[f32],
    intercepts: &[f32],
    targets: usize,
    post: PostTransform,
) -> Result<Tensor, ModelError> {
    let (rows, mut scores) = linear_scores(t, coefficients, intercepts, targets, "LinearRegressor")?;
    if post != PostTransform::None {
        scores.chunks_mut(targets).for_each(|r| post.apply(r));
    }
    Ok(Tensor::f32(vec![rows, targets], scores))
}

pub(super) fn tree_ensemble(te: &TreeEnsemble, t: &Tensor, n_outputs: usize) -> Result<Vec<Tensor>, ModelError> {
    let (rows, cols) = t.rows_cols()?;
    // Widened to f64: a float32 value compares with a float32 threshold exactly as in float32,
    // and a double input compares in double, as onnxruntime does for each input type.
    let x = t.to_f64()?;
    let out = te.eval(&x, rows, cols);
    let scores = Tensor::f32(vec![rows, out.width], out.scores);
    match &te.kind {
        crate::tree::EnsembleKind::Regressor { .. } => Ok(vec![scores]),
        crate::tree::EnsembleKind::Classifier { labels } => {
            let label = labels_tensor(labels, &out.labels, false);
            Ok(if n_outputs >= 2 { vec![label, scores] } else { vec![label] })
        }
    }
}
