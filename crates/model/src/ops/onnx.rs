//! The ai.onnx operators tabular exports use: shapes, casts, matrix products, element-wise
//! arithmetic and activations, softmax and argmax.

use super::*;

pub(super) fn ints_input(t: Option<&Tensor>) -> Result<Option<Vec<i64>>, ModelError> {
    t.map(Tensor::to_i64).transpose()
}

pub(super) fn cast(t: &Tensor, to: i32) -> Result<Tensor, ModelError> {
    let data = match to {
        dtype::FLOAT => Data::F32(match &t.data {
            Data::Str(v) => v.iter().map(|s| s.trim().parse::<f32>().unwrap_or(f32::NAN)).collect(),
            _ => t.to_f32()?,
        }),
        dtype::DOUBLE => Data::F64(match &t.data {
            Data::Str(v) => v.iter().map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN)).collect(),
            _ => t.to_f64()?,
        }),
        dtype::INT64 | dtype::INT32 | dtype::INT8 | dtype::UINT8 => Data::I64(t.to_i64()?),
        dtype::BOOL => Data::Bool(t.to_f64()?.into_iter().map(|v| v != 0.0).collect()),
        dtype::STRING => Data::Str(match &t.data {
            Data::Str(v) => v.clone(),
            Data::I64(v) => v.iter().map(i64::to_string).collect(),
            other => return Err(bad("Cast", format!("casting {} to string is not supported", other.type_name()))),
        }),
        other => return Err(bad("Cast", format!("unsupported target type {other}"))),
    };
    Ok(Tensor { shape: t.shape.clone(), data })
}

/// Row-major strides of a shape.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

pub(super) fn concat(inputs: &[Option<&Tensor>], ax: i64) -> Result<Tensor, ModelError> {
    let parts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let first = parts.first().ok_or_else(|| bad("Concat", "no inputs"))?;
    let rank = first.shape.len();
    let a = axis(ax, rank)?;
    let outer: usize = first.shape[..a].iter().product();
    let mut shape = first.shape.clone();
    shape[a] = 0;
    for p in &parts {
        if p.shape.len() != rank || p.shape[..a] != first.shape[..a] || p.shape[a + 1..] != first.shape[a + 1..] {
            return Err(bad(
                "Concat",
                format!("shapes {:?} and {:?} do not concatenate on axis {ax}", first.shape, p.shape),
            ));
        }
        shape[a] += p.shape[a];
    }
    let mut out: Data = match &first.data {
        Data::F32(_) => Data::F32(Vec::new()),
        Data::F64(_) => Data::F64(Vec::new()),
        Data::I64(_) => Data::I64(Vec::new()),
        Data::Str(_) => Data::Str(Vec::new()),
        Data::Bool(_) => Data::Bool(Vec::new()),
    };
    for o in 0..outer {
        for p in &parts {
            let chunk = p.len() / outer.max(1);
            let range = o * chunk..(o + 1) * chunk;
            match (&mut out, &p.data) {
                (Data::F32(d), Data::F32(s)) => d.extend_from_slice(&s[range]),
                (Data::F64(d), Data::F64(s)) => d.extend_from_slice(&s[range]),
                (Data::I64(d), Data::I64(s)) => d.extend_from_slice(&s[range]),
                (Data::Str(d), Data::Str(s)) => d.extend_from_slice(&s[range]),
                (Data::Bool(d), Data::Bool(s)) => d.extend_from_slice(&s[range]),
                _ => return Err(bad("Concat", "inputs of different element types")),
            }
        }
    }
    Tensor::new(shape, out)
}

pub(super) fn reshape(t: &Tensor, shape: &Tensor) -> Result<Tensor, ModelError> {
    let spec = shape.to_i64()?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            0 => out.push(*t.shape.get(i).ok_or_else(|| bad("Reshape", "0 beyond the input's rank"))?),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            _ => return Err(bad("Reshape", format!("invalid shape {spec:?}"))),
        }
    }
    if let Some(i) = infer {
        let known =
            crate::tensor::checked_size(&out).ok_or_else(|| bad("Reshape", format!("invalid shape {spec:?}")))?;
        if known == 0 || !t.len().is_multiple_of(known) {
            return Err(bad("Reshape", format!("cannot reshape {:?} to {spec:?}", t.shape)));
        }
        out[i] = t.len() / known;
    }
    t.clone().reshaped(out)
}

pub(super) fn squeeze(t: &Tensor, axes: Option<Vec<i64>>) -> Result<Tensor, ModelError> {
    let rank = t.shape.len();
    let drop: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&x| axis(x, rank)).collect::<Result<_, _>>()?,
        None => (0..rank).filter(|&i| t.shape[i] == 1).collect(),
    };
    let shape = t.shape.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, &d)| d).collect();
    t.clone().reshaped(shape)
}

pub(super) fn unsqueeze(t: &Tensor, axes: Option<Vec<i64>>) -> Result<Tensor, ModelError> {
    let axes = axes.ok_or_else(|| bad("Unsqueeze", "no axes"))?;
    let rank = t.shape.len() + axes.len();
    let mut add: Vec<usize> = axes.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?;
    add.sort_unstable();
    let mut shape = t.shape.clone();
    for a in add {
        shape.insert(a.min(shape.len()), 1);
    }
    t.clone().reshaped(shape)
}

pub(super) fn slice(
    t: &Tensor,
    legacy: Option<&LegacySlice>,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, ModelError> {
    let (starts, ends, axes, steps) = match legacy {
        Some((s, e, a)) => (s.clone(), e.clone(), a.clone(), None),
        None => {
            let get = |i: usize| ints_input(inputs.get(i).copied().flatten());
            (get(1)?.unwrap_or_default(), get(2)?.unwrap_or_default(), get(3)?, get(4)?)
        }
    };
    let rank = t.shape.len();
    let axes: Vec<i64> = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let mut ranges: Vec<(i64, i64, i64)> = t.shape.iter().map(|&d| (0, d as i64, 1)).collect();
    for (i, &ax) in axes.iter().enumerate() {
        let a = axis(ax, rank)?;
        let dim = t.shape[a] as i64;
        let step = steps.as_ref().and_then(|s| s.get(i).copied()).unwrap_or(1);
        if step == 0 {
            return Err(bad("Slice", "step 0"));
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (s, e) = (starts.get(i).copied().unwrap_or(0), ends.get(i).copied().unwrap_or(dim));
        ranges[a] = if step > 0 {
            (clamp(norm(s), 0, dim), clamp(norm(e), 0, dim), step)
        } else {
            (clamp(norm(s), -1, dim - 1), clamp(norm(e), -1, dim - 1), step)
        };
    }
    let picks: Vec<Vec<usize>> = ranges
        .iter()
        .map(|&(s, e, st)| {
            let mut v = Vec::new();
            let mut i = s;
            while (st > 0 && i < e) || (st < 0 && i > e) {
                v.push(i as usize);
                i += st;
            }
            v
        })
        .collect();
    let shape: Vec<usize> = picks.iter().map(Vec::len).collect();
    let st = strides(&t.shape);
    let mut index = vec![0usize];
    for (a, p) in picks.iter().enumerate() {
        let stride = st[a];
        index = index.iter().flat_map(|&base| p.iter().map(move |&i| base + i * stride)).collect();
    }
    Ok(t.take(shape, &index))
}

pub(super) fn gather(t: &Tensor, indices: &Tensor, ax: i64) -> Result<Tensor, ModelError> {
    let a = axis(ax, t.shape.len())?;
    let dim = t.shape[a] as i64;
    let idx: Vec<usize> = indices
        .to_i64()?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| j < dim as usize)
                .ok_or_else(|| bad("Gather", format!("index {i} out of range")))
        })
        .collect::<Result<_, _>>()?;
    let outer: usize = t.shape[..a].iter().product();
    let inner: usize = t.shape[a + 1..].iter().product();
    let mut index = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in &idx {
            let base = (o * t.shape[a] + i) * inner;
            index.extend(base..base + inner);
        }
    }
    let mut shape = t.shape[..a].to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(&t.shape[a + 1..]);
    Ok(t.take(shape, &index))
}

/// C = A·B for 2-D float32 matrices, summed in k order.
/// `a` (m × k) times `b` (k × n), multiplying then adding, so the loop vectorises on any
/// x86-64 (a fused `mul_add` is a libm call per element without the FMA target feature):
/// for the MatMul and Gemm of MLPs, where it doubles the speed; the results differ from
/// onnxruntime's fused kernels by about an ulp per step.
pub(super) fn matmul2(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    matmul_with(a, b, m, k, n, |acc, x, y| acc + x * y)
}

/// `matmul2` accumulated with fused multiply-adds, as onnxruntime's linear models do: a linear
/// regressor's value then matches onnxruntime's to the last bit even at large magnitudes.
pub(super) fn matmul2_fused(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    matmul_with(a, b, m, k, n, |acc, x, y| x.mul_add(y, acc))
}

/// Row-major `a` × `b`, each step `acc = step(acc, a[i][p], b[p][j])` (inlined per caller).
#[inline(always)]
fn matmul_with(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, step: impl Fn(f32, f32, f32) -> f32) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let av = a[i * k + p];
            let brow = &b[p * n..(p + 1) * n];
            for (cj, &bj) in row.iter_mut().zip(brow) {
                *cj = step(*cj, av, bj);
            }
        }
    }
    c
}

pub(super) fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

pub(super) fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, ModelError> {
    let (av, bv) = (a.to_f32()?, b.to_f32()?);
    let (m, k) = match a.shape.as_slice() {
        [k] => (1, *k),
        [m, k] => (*m, *k),
        s => return Err(bad("MatMul", format!("A of shape {s:?} is not supported"))),
    };
    let (k2, n) = match b.shape.as_slice() {
        [k] => (*k, 1),
        [k, n] => (*k, *n),
        s => return Err(bad("MatMul", format!("B of shape {s:?} is not supported"))),
    };
    if k != k2 {
        return Err(bad("MatMul", format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape)));
    }
    let mut shape = vec![];
    if a.shape.len() == 2 {
        shape.push(m);
    }
    if b.shape.len() == 2 {
        shape.push(n);
    }
    Ok(Tensor::f32(shape, matmul2(&av, &bv, m, k, n)))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn gemm(
    a: &Tensor,
    b: Option<&Tensor>,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, ModelError> {
    let b = b.ok_or_else(|| bad("Gemm", "no B"))?;
    let (ar, ac) = a.rows_cols()?;
    let (br, bc) = b.rows_cols()?;
    let (m, k, av) = if trans_a { (ac, ar, transpose(&a.to_f32()?, ar, ac)) } else { (ar, ac, a.to_f32()?) };
    let (k2, n, bv) = if trans_b { (bc, br, transpose(&b.to_f32()?, br, bc)) } else { (br, bc, b.to_f32()?) };
    if k != k2 {
        return Err(bad("Gemm", format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape)));
    }
    let mut y = matmul2(&av, &bv, m, k, n);
    y.iter_mut().for_each(|v| *v *= alpha);
    let mut out = Tensor::f32(vec![m, n], y);
    if let Some(c) = c {
        let scaled = Tensor::f32(c.shape.clone(), c.to_f32()?.into_iter().map(|v| v * beta).collect());
        out = binary(BinaryOp::Add, &out, &scaled)?;
    }
    Ok(out)
}

/// Numpy broadcasting: the output shape and, for each output element, the input's flat index.
pub(super) fn broadcast_index(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let pad = out.len() - shape.len();
    let st = strides(shape);
    let total: usize = out.iter().product();
    let ost = strides(out);
    (0..total)
        .map(|flat| {
            let mut idx = 0;
            for (d, &os) in ost.iter().enumerate() {
                let coord = (flat / os) % out[d].max(1);
                if d >= pad && shape[d - pad] != 1 {
                    idx += coord * st[d - pad];
                }
            }
            idx
        })
        .collect()
}

pub(super) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ModelError> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let x = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
            let y = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
            match (x, y) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(bad("broadcast", format!("shapes {a:?} and {b:?} do not broadcast"))),
            }
        })
        .collect()
}

pub(super) fn binary(op: BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor, ModelError> {
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
    let data = match (&a.data, &b.data) {
        (Data::F64(x), Data::F64(y)) => Data::F64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    BinaryOp::Add => x[i] + y[j],
                    BinaryOp::Sub => x[i] - y[j],
                    BinaryOp::Mul => x[i] * y[j],
                    BinaryOp::Div => x[i] / y[j],
                })
                .collect(),
        ),
        (Data::I64(x), Data::I64(y)) => Data::I64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    BinaryOp::Add => x[i].wrapping_add(y[j]),
                    BinaryOp::Sub => x[i].wrapping_sub(y[j]),
                    BinaryOp::Mul => x[i].wrapping_mul(y[j]),
                    BinaryOp::Div => x[i].checked_div(y[j]).unwrap_or(0),
                })
                .collect(),
        ),
        _ => {
            let (x, y) = (a.to_f32()?, b.to_f32()?);
            Data::F32(
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| match op {
                        BinaryOp::Add => x[i] + y[j],
                        BinaryOp::Sub => x[i] - y[j],
                        BinaryOp::Mul => x[i] * y[j],
                        BinaryOp::Div => x[i] / y[j],
                    })
                    .collect(),
            )
        }
    };
    Tensor::new(shape, data)
}

pub(super) fn unary(op: UnaryOp, t: &Tensor) -> Result<Tensor, ModelError> {
    let v = t
        .to_f32()?
        .into_iter()
        .map(|x| match op {
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Sigmoid => crate::transform::logistic(x),
            UnaryOp::Tanh => x.tanh(),
        })
        .collect();
    Ok(Tensor::f32(t.shape.clone(), v))
}

pub(super) fn softmax(t: &Tensor, ax: i64, legacy: bool) -> Result<Tensor, ModelError> {
    let rank = t.shape.len();
    let a = axis(ax, rank)?;
    let mut v = t.to_f32()?;
    if legacy || a + 1 == rank {
        // Rows of everything from `a` on (opset < 13 flattens; the last axis is the same).
        let inner: usize = t.shape[a..].iter().product();
        v.chunks_mut(inner.max(1)).for_each(crate::transform::softmax);
    } else {
        let inner: usize = t.shape[a + 1..].iter().product();
        let dim = t.shape[a];
        let outer: usize = t.shape[..a].iter().product();
        for o in 0..outer {
            for i in 0..inner {
                let mut row: Vec<f32> = (0..dim).map(|d| v[(o * dim + d) * inner + i]).collect();
                crate::transform::softmax(&mut row);
                for (d, x) in row.into_iter().enumerate() {
                    v[(o * dim + d) * inner + i] = x;
                }
            }
        }
    }
    Ok(Tensor::f32(t.shape.clone(), v))
}

pub(super) fn argmax(t: &Tensor, ax: i64, keepdims: bool, last: bool) -> Result<Tensor, ModelError> {
    let a = axis(ax, t.shape.len())?;
    let v = t.to_f64()?;
    let dim = t.shape[a];
    let inner: usize = t.shape[a + 1..].iter().product();
    let outer: usize = t.shape[..a].iter().product();
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            for d in 1..dim {
                let (x, b) = (v[(o * dim + d) * inner + i], v[(o * dim + best) * inner + i]);
                if x > b || (last && x == b) {
                    best = d;
                }
            }
            out.push(best as i64);
        }
    }
    let mut shape = t.shape.clone();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Tensor::new(shape, Data::I64(out))
}
