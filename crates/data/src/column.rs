//! Typed columns and tables.

/// The code of a missing value in a [`StrColumn`].
pub const MISSING_CODE: u32 = u32::MAX;

/// Dictionary-encoded strings: `codes[i]` indexes `dictionary`, or is [`MISSING_CODE`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrColumn {
    pub codes: Vec<u32>,
    pub dictionary: Vec<String>,
}

impl StrColumn {
    pub fn get(&self, row: usize) -> Option<&str> {
        let code = *self.codes.get(row)?;
        self.dictionary.get(code as usize).map(String::as_str)
    }
}

/// The values of one column, typed as pandas would type them.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Integers with no missing value (pandas `int64`).
    Int(Vec<i64>),
    /// Numbers; `NaN` marks a missing value (pandas `float64`). ±inf are kept as read.
    Float(Vec<f64>),
    /// `True`/`False` with no missing value (pandas `bool`).
    Bool(Vec<bool>),
    /// Anything else (pandas `object`).
    Str(StrColumn),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Str(s) => s.codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// pandas' name for the type, for messages.
    pub fn dtype(&self) -> &'static str {
        match self {
            Values::Int(_) => "int64",
            Values::Float(_) => "float64",
            Values::Bool(_) => "bool",
            Values::Str(_) => "object",
        }
    }

    /// Missing values: NaN in a float column, [`MISSING_CODE`] in a string column.
    pub fn missing(&self) -> usize {
        match self {
            Values::Float(v) => v.iter().filter(|x| x.is_nan()).count(),
            Values::Str(s) => s.codes.iter().filter(|&&c| c == MISSING_CODE).count(),
            Values::Int(_) | Values::Bool(_) => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

/// Columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: usize,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}
