//! The parts of the ONNX protobuf schema (onnx.proto, IR version ≤ 10) a tabular model uses,
//! read by a small wire-format decoder. Unknown fields are skipped, as protobuf readers do.

use crate::ModelError;

/// Element types (`TensorProto.DataType`).
pub mod dtype {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const STRING: i32 = 8;
    pub const BOOL: i32 = 9;
    pub const DOUBLE: i32 = 11;
}

#[derive(Debug, Clone, Default)]
pub struct ModelProto {
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub opset_import: Vec<OperatorSetId>,
    pub graph: GraphProto,
}

#[derive(Debug, Clone, Default)]
pub struct OperatorSetId {
    pub domain: String,
    pub version: i64,
}

#[derive(Debug, Clone, Default)]
pub struct GraphProto {
    pub name: String,
    pub node: Vec<NodeProto>,
    pub initializer: Vec<TensorProto>,
    pub input: Vec<ValueInfoProto>,
    pub output: Vec<ValueInfoProto>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeProto {
    pub input: Vec<String>,
    pub output: Vec<String>,
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub attribute: Vec<AttributeProto>,
}

#[derive(Debug, Clone, Default)]
pub struct AttributeProto {
    pub name: String,
    pub f: f32,
    pub i: i64,
    pub s: Vec<u8>,
    pub t: Option<TensorProto>,
    pub floats: Vec<f32>,
    pub ints: Vec<i64>,
    pub strings: Vec<Vec<u8>>,
    /// A sub-graph (If/Loop bodies): present only so such models are refused by name.
    pub has_graph: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TensorProto {
    pub dims: Vec<i64>,
    pub data_type: i32,
    pub float_data: Vec<f32>,
    pub int32_data: Vec<i32>,
    pub string_data: Vec<Vec<u8>>,
    pub int64_data: Vec<i64>,
    pub double_data: Vec<f64>,
    pub uint64_data: Vec<u64>,
    pub raw_data: Vec<u8>,
    pub name: String,
    /// Data kept in another file (`data_location = EXTERNAL`): refused, the model must be one file.
    pub external: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ValueInfoProto {
    pub name: String,
    pub r#type: Option<TypeProto>,
}

#[derive(Debug, Clone)]
pub enum TypeProto {
    Tensor {
        elem_type: i32,
        shape: Option<Vec<Dim>>,
    },
    /// Sequences, maps, optionals: never a model input riskops can feed.
    Other,
}

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    Named(String),
    Unknown,
}

/// A protobuf message being read: a cursor over its bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One field's value as the wire carries it.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

fn malformed(what: &str) -> ModelError {
    ModelError::Malformed(format!("not a readable ONNX model: {what}"))
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ModelError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| malformed("truncated field"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next field number and value, or None at the end of the message.
    fn field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ModelError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number out of range"))?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| malformed("fixed64"))?)),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length out of range"))?;
                Wire::Bytes(self.take(len)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| malformed("fixed32"))?)),
            other => return Err(malformed(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((number, wire)))
    }
}

fn string(wire: &Wire<'_>) -> Result<String, ModelError> {
    match wire {
        Wire::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|_| malformed("a name is not UTF-8")),
        _ => Err(malformed("expected a string")),
    }
}

fn bytes<'a>(wire: &Wire<'a>) -> Result<&'a [u8], ModelError> {
    match wire {
        Wire::Bytes(b) => Ok(b),
        _ => Err(malformed("expected bytes")),
    }
}

fn int(wire: &Wire<'_>) -> Result<i64, ModelError> {
    match wire {
        Wire::Varint(v) => Ok(*v as i64),
        _ => Err(malformed("expected an integer")),
    }
}

/// Repeated varints, packed or not.
fn push_varints(wire: &Wire<'_>, out: &mut Vec<i64>) -> Result<(), ModelError> {
    match wire {
        Wire::Varint(v) => out.push(*v as i64),
        Wire::Bytes(b) => {
            let mut r = Reader::new(b);
            while r.pos < b.len() {
                out.push(r.varint()? as i64);
            }
        }
        _ => return Err(malformed("expected integers")),
    }
    Ok(())
}

fn push_floats(wire: &Wire<'_>, out: &mut Vec<f32>) -> Result<(), ModelError> {
    match wire {
        Wire::Fixed32(v) => out.push(f32::from_bits(*v)),
        Wire::Bytes(b) if b.len() % 4 == 0 => {
            out.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        }
        _ => return Err(malformed("expected floats")),
    }
    Ok(())
}

fn push_doubles(wire: &Wire<'_>, out: &mut Vec<f64>) -> Result<(), ModelError> {
    match wire {
        Wire::Fixed64(v) => out.push(f64::from_bits(*v)),
        Wire::Bytes(b) if b.len() % 8 == 0 => {
            out.extend(b.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])));
        }
        _ => return Err(malformed("expected doubles")),
    }
    Ok(())
}

pub fn decode_model(buf: &[u8]) -> Result<ModelProto, ModelError> {
    let mut m = ModelProto::default();
    let mut r = Reader::new(buf);
    let mut has_graph = false;
    while let Some((n, w)) = r.field()? {
        match n {
            1 => m.ir_version = int(&w)?,
            2 => m.producer_name = string(&w)?,
            3 => m.producer_version = string(&w)?,
            7 => {
                m.graph = decode_graph(bytes(&w)?)?;
                has_graph = true;
            }
            8 => m.opset_import.push(decode_opset(bytes(&w)?)?),
            _ => {}
        }
    }
    if !has_graph {
        return Err(malformed("the model has no graph"));
    }
    Ok(m)
}

fn decode_opset(buf: &[u8]) -> Result<OperatorSetId, ModelError> {
    let mut o = OperatorSetId::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => o.domain = string(&w)?,
            2 => o.version = int(&w)?,
            _ => {}
        }
    }
    Ok(o)
}

fn decode_graph(buf: &[u8]) -> Result<GraphProto, ModelError> {
    let mut g = GraphProto::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => g.node.push(decode_node(bytes(&w)?)?),
            2 => g.name = string(&w)?,
            5 => g.initializer.push(decode_tensor(bytes(&w)?)?),
            11 => g.input.push(decode_value_info(bytes(&w)?)?),
            12 => g.output.push(decode_value_info(bytes(&w)?)?),
            15 => return Err(ModelError::Malformed("sparse initializers are not supported".into())),
            _ => {}
        }
    }
    Ok(g)
}

fn decode_node(buf: &[u8]) -> Result<NodeProto, ModelError> {
    let mut node = NodeProto::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => node.input.push(string(&w)?),
            2 => node.output.push(string(&w)?),
            3 => node.name = string(&w)?,
            4 => node.op_type = string(&w)?,
            5 => node.attribute.push(decode_attribute(bytes(&w)?)?),
            7 => node.domain = string(&w)?,
            _ => {}
        }
    }
    Ok(node)
}

fn decode_attribute(buf: &[u8]) -> Result<AttributeProto, ModelError> {
    let mut a = AttributeProto::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => a.name = string(&w)?,
            2 => match w {
                Wire::Fixed32(v) => a.f = f32::from_bits(v),
                _ => return Err(malformed("attribute f is not a float")),
            },
            3 => a.i = int(&w)?,
            4 => a.s = bytes(&w)?.to_vec(),
            5 => a.t = Some(decode_tensor(bytes(&w)?)?),
            6 | 11 => a.has_graph = true,
            7 => push_floats(&w, &mut a.floats)?,
            8 => push_varints(&w, &mut a.ints)?,
            9 => a.strings.push(bytes(&w)?.to_vec()),
            _ => {}
        }
    }
    Ok(a)
}

fn decode_tensor(buf: &[u8]) -> Result<TensorProto, ModelError> {
    let mut t = TensorProto::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => push_varints(&w, &mut t.dims)?,
            2 => t.data_type = int(&w)? as i32,
            4 => push_floats(&w, &mut t.float_data)?,
            5 => {
                let mut v = Vec::new();
                push_varints(&w, &mut v)?;
                t.int32_data.extend(v.into_iter().map(|x| x as i32));
            }
            6 => t.string_data.push(bytes(&w)?.to_vec()),
            7 => push_varints(&w, &mut t.int64_data)?,
            8 => t.name = string(&w)?,
            9 => t.raw_data = bytes(&w)?.to_vec(),
            10 => push_doubles(&w, &mut t.double_data)?,
            11 => {
                let mut v = Vec::new();
                push_varints(&w, &mut v)?;
                t.uint64_data.extend(v.into_iter().map(|x| x as u64));
            }
            14 => t.external = int(&w)? == 1,
            _ => {}
        }
    }
    Ok(t)
}

fn decode_value_info(buf: &[u8]) -> Result<ValueInfoProto, ModelError> {
    let mut v = ValueInfoProto::default();
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => v.name = string(&w)?,
            2 => v.r#type = Some(decode_type(bytes(&w)?)?),
            _ => {}
        }
    }
    Ok(v)
}

fn decode_type(buf: &[u8]) -> Result<TypeProto, ModelError> {
    let mut r = Reader::new(buf);
    let mut out = TypeProto::Other;
    while let Some((n, w)) = r.field()? {
        if n == 1 {
            out = decode_tensor_type(bytes(&w)?)?;
        }
    }
    Ok(out)
}

fn decode_tensor_type(buf: &[u8]) -> Result<TypeProto, ModelError> {
    let (mut elem_type, mut shape) = (0, None);
    let mut r = Reader::new(buf);
    while let Some((n, w)) = r.field()? {
        match n {
            1 => elem_type = int(&w)? as i32,
            2 => {
                let mut dims = Vec::new();
                let mut s = Reader::new(bytes(&w)?);
                while let Some((m, x)) = s.field()? {
                    if m == 1 {
                        dims.push(decode_dim(bytes(&x)?)?);
                    }
                }
                shape = Some(dims);
            }
            _ => {}
        }
    }
    Ok(TypeProto::Tensor { elem_type, shape })
}

fn decode_dim(buf: &[u8]) -> Result<Dim, ModelError> {
    let mut r = Reader::new(buf);
    let mut dim = Dim::Unknown;
    while let Some((n, w)) = r.field()? {
        match n {
            1 => dim = Dim::Fixed(int(&w)?),
            2 => dim = Dim::Named(string(&w)?),
            _ => {}
        }
    }
    Ok(dim)
}
