//! CSV reading: delimiter sniffing, pandas-compatible typing, one pass, streamed.

use crate::column::{Column, MISSING_CODE, StrColumn, Table, Values};
use crate::error::DataError;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// pandas' default `na_values`: fields equal to one of these are missing.
pub const MISSING_TOKENS: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
];

const TRUE_TOKENS: [&str; 3] = ["True", "TRUE", "true"];
const FALSE_TOKENS: [&str; 3] = ["False", "FALSE", "false"];

#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// The field separator; sniffed from the first lines when `None`.
    pub delimiter: Option<u8>,
    /// Keep only these columns (in file order); all when `None`.
    pub columns: Option<Vec<String>>,
}

/// Reads `path`. `progress` is called now and then with the number of bytes read so far.
pub fn read_csv(path: &Path, options: &CsvOptions, progress: &dyn Fn(u64)) -> Result<Table, DataError> {
    let (reader, delimiter) = open_with_delimiter(path, options.delimiter)?;
    read_csv_from(path, reader, delimiter, options.columns.as_deref(), progress)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The most plausible separator among `,` `;` tab `|` and space: the one that splits the
/// first lines into the same number (> 1) of fields, preferring the most fields.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 5] = [b',', b';', b'\t', b'|', b' '];
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').take(20).filter(|l| !l.is_empty()).collect();
    // The last line may be cut off by the 64 KiB window; leave it out when there are others.
    let lines = if lines.len() > 2 { &lines[..lines.len() - 1] } else { &lines[..] };
    let mut best = (b',', 0usize);
    for &d in &CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let Some(&first) = counts.first() else { continue };
        if first > 0 && counts.iter().all(|&c| c == first) && first > best.1 {
            best = (d, first);
        }
    }
    best.0
}

fn count_outside_quotes(line: &[u8], delimiter: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            n += 1;
        }
    }
    n
}

/// Reads CSV from any reader (`path` is only used in messages).
pub fn read_csv_from<R: Read>(
    path: &Path,
    reader: R,
    delimiter: u8,
    keep: Option<&[String]>,
    progress: &dyn Fn(u64),
) -> Result<Table, DataError> {
    let mut builders: Vec<ColumnBuilder> = Vec::new();
    let mut names = Vec::new();
    let rows = scan(
        path,
        reader,
        delimiter,
        keep,
        progress,
        |selected, record| {
            if builders.is_empty() {
                builders = selected.iter().map(|_| ColumnBuilder::default()).collect();
            }
            for ((_, index), builder) in selected.iter().zip(builders.iter_mut()) {
                builder.push(record.get(*index).unwrap_or(b""));
            }
        },
        &mut names,
    )?;
    let columns = names.into_iter().zip(builders).map(|(name, b)| Column { name, values: b.finish() }).collect();
    Ok(Table { columns, rows })
}

/// One record's fields, from the fast path or from the csv crate.
pub enum Record<'a> {
    Plain { line: &'a [u8], bounds: &'a [(usize, usize)] },
    Quoted(&'a csv::ByteRecord),
}

impl Record<'_> {
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            Record::Plain { line, bounds } => bounds.get(i).map(|&(a, b)| &line[a..b]),
            Record::Quoted(r) => r.get(i),
        }
    }
}

/// Bytes read from the file at a time by the fast path.
const BLOCK: usize = 4 << 20;

/// Streams the records of a CSV file to `visit` with the selected `(name, field index)`
/// pairs; returns the number of rows and fills `names` with the selected column names.
/// A file with a header and no rows is [`DataError::Empty`].
///
/// Files without quote characters (most machine-written CSV) are split by a simple loop
/// over large blocks; from the first block with a `"` on, the csv crate reads the rest, so
/// quoting rules are always the csv crate's.
pub fn scan<R: Read>(
    path: &Path,
    reader: R,
    delimiter: u8,
    keep: Option<&[String]>,
    progress: &dyn Fn(u64),
    mut visit: impl FnMut(&[(String, usize)], &Record<'_>),
    names: &mut Vec<String>,
) -> Result<usize, DataError> {
    let malformed = |message: String| DataError::Malformed { path: path.to_path_buf(), message };
    let io_err = |source| DataError::Io { path: path.to_path_buf(), source };
    let mut input = CountingReader { inner: reader, read: 0, reported: 0, progress };
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut eof = fill(&mut input, &mut buf).map_err(io_err)?;
    let header_end = match buf.iter().position(|&b| b == b'\n') {
        Some(i) => i,
        None if eof => buf.len(),
        None => return scan_quoted(path, std::io::Cursor::new(buf).chain(input), delimiter, keep, visit, names, 0),
    };
    let header_line = strip_cr(&buf[..header_end]);
    if header_line.contains(&b'"') {
        return scan_quoted(path, std::io::Cursor::new(buf).chain(input), delimiter, keep, visit, names, 0);
    }
    let mut header = csv::ByteRecord::new();
    for field in header_line.split(|&b| b == delimiter) {
        header.push_field(field);
    }
    let all = header_names(path, &header)?;
    let selected: Vec<(String, usize)> = select(path, &all, keep)?.into_iter().map(|i| (all[i].clone(), i)).collect();
    *names = selected.iter().map(|(n, _)| n.clone()).collect();
    let expected = all.len();
    let mut start = (header_end + 1).min(buf.len());
    let mut line_no = 1usize;
    let mut rows = 0usize;
    let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(expected);
    loop {
        // Complete lines in buf[start..]; the tail waits for the next block.
        let end = if eof {
            buf.len()
        } else {
            buf[start..].iter().rposition(|&b| b == b'\n').map_or(start, |i| start + i + 1)
        };
        if buf[start..end].contains(&b'"') {
            let rest = std::io::Cursor::new(buf.split_off(start)).chain(input);
            let more = scan_quoted_rows(path, rest, delimiter, expected, &selected, &mut visit, line_no)?;
            rows += more;
            break;
        }
        // One SIMD pass finds every delimiter and newline of the chunk.
        let chunk = &buf[start..end];
        let mut line_start = 0;
        let mut field_start = 0;
        bounds.clear();
        // Ends the line [line_start, line_end): its last field starts at `last_field`
        // (relative to the line). Blank lines are skipped, as the csv crate and pandas do.
        let mut emit =
            |line_start: usize, line_end: usize, last_field: usize, bounds: &mut Vec<(usize, usize)>, line_no| {
                let line = strip_cr(&chunk[line_start..line_end]);
                if line.is_empty() {
                    bounds.clear();
                    return Ok(false);
                }
                bounds.push((last_field, line.len()));
                if bounds.len() != expected {
                    return Err(malformed(format!(
                        "line {line_no} has {} fields, but the header has {expected}",
                        bounds.len()
                    )));
                }
                visit(&selected, &Record::Plain { line, bounds });
                bounds.clear();
                Ok(true)
            };
        for pos in memchr::memchr2_iter(delimiter, b'\n', chunk) {
            if chunk[pos] == b'\n' {
                line_no += 1;
                if emit(line_start, pos, field_start - line_start, &mut bounds, line_no)? {
                    rows += 1;
                }
                line_start = pos + 1;
                field_start = line_start;
            } else {
                bounds.push((field_start - line_start, pos - line_start));
                field_start = pos + 1;
            }
        }
        // The file's last line may have no newline.
        if eof && line_start < chunk.len() {
            line_no += 1;
            if emit(line_start, chunk.len(), field_start - line_start, &mut bounds, line_no)? {
                rows += 1;
            }
        }
        if eof {
            break;
        }
        buf.drain(..end);
        start = 0;
        eof = fill(&mut input, &mut buf).map_err(io_err)?;
    }
    if rows == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(rows)
}

/// Appends up to a block of input to `buf`; true at the end of the input. (`read_to_end`
/// grows the buffer without zero-filling it first.)
fn fill(input: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let n = input.by_ref().take(BLOCK as u64).read_to_end(buf)?;
    Ok(n < BLOCK)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The whole file through the csv crate (a quoted header).
fn scan_quoted<R: Read>(
    path: &Path,
    reader: R,
    delimiter: u8,
    keep: Option<&[String]>,
    mut visit: impl FnMut(&[(String, usize)], &Record<'_>),
    names: &mut Vec<String>,
    lines_before: usize,
) -> Result<usize, DataError> {
    let malformed = |message: String| DataError::Malformed { path: path.to_path_buf(), message };
    let mut csv = csv_reader(reader, delimiter, true);
    let header = csv.byte_headers().map_err(|e| malformed(csv_message(&e, lines_before)))?.clone();
    let all = header_names(path, &header)?;
    let selected: Vec<(String, usize)> = select(path, &all, keep)?.into_iter().map(|i| (all[i].clone(), i)).collect();
    *names = selected.iter().map(|(n, _)| n.clone()).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(csv_message(&e, lines_before))),
        }
        visit(&selected, &Record::Quoted(&record));
        rows += 1;
    }
    if rows == 0 {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(rows)
}

/// The rest of a file (records only) through the csv crate, after `lines_before` lines.
fn scan_quoted_rows<R: Read>(
    path: &Path,
    reader: R,
    delimiter: u8,
    expected: usize,
    selected: &[(String, usize)],
    visit: &mut impl FnMut(&[(String, usize)], &Record<'_>),
    lines_before: usize,
) -> Result<usize, DataError> {
    let malformed = |message: String| DataError::Malformed { path: path.to_path_buf(), message };
    let mut csv = csv_reader(reader, delimiter, false);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(malformed(csv_message(&e, lines_before))),
        }
        if record.len() != expected {
            let line = lines_before + record.position().map_or(0, |p| p.line() as usize);
            return Err(malformed(format!("line {line} has {} fields, but the header has {expected}", record.len())));
        }
        visit(selected, &Record::Quoted(&record));
        rows += 1;
    }
    Ok(rows)
}

fn csv_reader<R: Read>(reader: R, delimiter: u8, has_headers: bool) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        // Field counts are checked here, with line numbers of the whole file.
        .flexible(!has_headers)
        .buffer_capacity(1 << 20)
        .from_reader(reader)
}

/// Opens `path` and picks its delimiter: `options.delimiter`, or sniffed from its start.
pub fn open_with_delimiter(path: &Path, delimiter: Option<u8>) -> Result<(BufReader<File>, u8), DataError> {
    let io_err = |source| DataError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io_err)?;
    let delimiter = match delimiter {
        Some(d) => d,
        None => {
            let mut head = vec![0u8; 64 * 1024];
            let n = read_up_to(&mut file, &mut head).map_err(io_err)?;
            head.truncate(n);
            file = File::open(path).map_err(io_err)?;
            sniff_delimiter(&head)
        }
    };
    Ok((BufReader::with_capacity(1 << 20, file), delimiter))
}

fn csv_message(e: &csv::Error, lines_before: usize) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            let line = lines_before + pos.as_ref().map_or(0, |p| p.line() as usize);
            format!("line {line} has {len} fields, but the header has {expected_len}")
        }
        _ => e.to_string(),
    }
}

/// Header names as pandas makes them: an empty name becomes `Unnamed: <index>`.
fn header_names(path: &Path, header: &csv::ByteRecord) -> Result<Vec<String>, DataError> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        // pandas drops a UTF-8 byte order mark before the first name.
        let raw = if i == 0 { raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw) } else { raw };
        let name = String::from_utf8_lossy(raw).into_owned();
        let name = if name.is_empty() { format!("Unnamed: {i}") } else { name };
        if names.contains(&name) {
            return Err(DataError::DuplicateColumn { path: path.to_path_buf(), name });
        }
        names.push(name);
    }
    Ok(names)
}

fn select(path: &Path, names: &[String], keep: Option<&[String]>) -> Result<Vec<usize>, DataError> {
    let Some(keep) = keep else { return Ok((0..names.len()).collect()) };
    let mut indices = Vec::with_capacity(keep.len());
    for wanted in keep {
        let index = names.iter().position(|n| n == wanted).ok_or_else(|| DataError::UnknownColumn {
            path: PathBuf::from(path),
            name: wanted.clone(),
            available: names.join(", "),
        })?;
        indices.push(index);
    }
    indices.sort_unstable();
    indices.dedup();
    Ok(indices)
}

struct CountingReader<'a, R> {
    inner: R,
    read: u64,
    reported: u64,
    progress: &'a dyn Fn(u64),
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read - self.reported >= 4 << 20 || n == 0 {
            self.reported = self.read;
            (self.progress)(self.read);
        }
        Ok(n)
    }
}

/// One column being read: its type so far and its values. Types only widen
/// (empty → int → float → string; empty → bool → string), as pandas' inference does.
#[derive(Default)]
enum ColumnBuilder {
    /// Only missing values so far (pandas: float64 of NaN).
    #[default]
    Empty,
    MissingOnly(usize),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str(StrBuilder),
}

#[derive(Default)]
struct StrBuilder {
    codes: Vec<u32>,
    dictionary: Vec<String>,
    index: crate::fxhash::FxHashMap<String, u32>,
}

impl StrBuilder {
    fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => MISSING_CODE,
            Some(v) => match self.index.get(v) {
                Some(&c) => c,
                None => {
                    let c = self.dictionary.len() as u32;
                    self.dictionary.push(v.to_string());
                    self.index.insert(v.to_string(), c);
                    c
                }
            },
        };
        self.codes.push(code);
    }
}

pub(crate) enum Parsed<'a> {
    Missing,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'a str),
}

/// The order of checks is the hot path's: numbers first (most fields), parsed straight from
/// the bytes (no UTF-8 validation: a number is ASCII), then the missing tokens (none of which
/// parses as a number), then booleans and text.
pub(crate) fn parse_field(raw: &[u8]) -> Parsed<'_> {
    if raw.is_empty() {
        return Parsed::Missing;
    }
    let trimmed = trim_ascii_blanks(raw);
    if looks_numeric(trimmed) {
        // The integer parser stops at the first '.', 'e' or other non-digit, so a float
        // costs it a byte or two before the float parser takes over.
        if let Some(i) = parse_i64(trimmed) {
            return Parsed::Int(i);
        }
        if let Ok(f) = fast_float2::parse::<f64, _>(trimmed) {
            return Parsed::Float(f);
        }
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        // Not UTF-8: it can only be text; the lossy copy is made by the caller.
        Err(_) => return Parsed::Text(""),
    };
    if MISSING_TOKENS.contains(&text) {
        return Parsed::Missing;
    }
    if TRUE_TOKENS.contains(&text) {
        return Parsed::Bool(true);
    }
    if FALSE_TOKENS.contains(&text) {
        return Parsed::Bool(false);
    }
    Parsed::Text(text)
}

/// pandas ignores spaces and tabs around a number.
fn trim_ascii_blanks(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Decimal integers with an optional sign; `None` on anything else or on overflow.
fn parse_i64(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative { value.checked_sub(digit)? } else { value.checked_add(digit)? };
    }
    Some(value)
}

/// Rust and fast-float accept "infinity" and "NaN" in any case; pandas parses only plain
/// decimal and exponent forms and "inf"/"-inf". This keeps words as words.
fn looks_numeric(t: &[u8]) -> bool {
    let body = match t {
        [b'-' | b'+', rest @ ..] => rest,
        _ => t,
    };
    body.eq_ignore_ascii_case(b"inf") || body.first().is_some_and(|b| b.is_ascii_digit() || *b == b'.')
}

impl ColumnBuilder {
    fn push(&mut self, raw: &[u8]) {
        let parsed = parse_field(raw);
        let lossy;
        let parsed = match parsed {
            Parsed::Text("") if !raw.is_empty() => {
                lossy = String::from_utf8_lossy(raw).into_owned();
                Parsed::Text(&lossy)
            }
            p => p,
        };
        loop {
            match (&mut *self, &parsed) {
                // A state change falls through to the next turn, which stores the value.
                (ColumnBuilder::Empty, Parsed::Missing) => *self = ColumnBuilder::MissingOnly(0),
                (ColumnBuilder::MissingOnly(n), Parsed::Missing) => {
                    *n += 1;
                    return;
                }
                (ColumnBuilder::Empty, Parsed::Int(_)) => *self = ColumnBuilder::Int(Vec::new()),
                (ColumnBuilder::Empty, Parsed::Float(_)) => *self = ColumnBuilder::Float(Vec::new()),
                (ColumnBuilder::Empty, Parsed::Bool(_)) => *self = ColumnBuilder::Bool(Vec::new()),
                (ColumnBuilder::Empty, Parsed::Text(_)) => *self = ColumnBuilder::Str(StrBuilder::default()),
                (ColumnBuilder::MissingOnly(n), Parsed::Int(_) | Parsed::Float(_)) => {
                    *self = ColumnBuilder::Float(vec![f64::NAN; *n]);
                }
                (ColumnBuilder::MissingOnly(n), Parsed::Bool(_) | Parsed::Text(_)) => {
                    *self = ColumnBuilder::Str(StrBuilder { codes: vec![MISSING_CODE; *n], ..Default::default() });
                }
                (ColumnBuilder::Int(v), Parsed::Int(i)) => {
                    v.push(*i);
                    return;
                }
                (ColumnBuilder::Int(v), Parsed::Float(_) | Parsed::Missing) => {
                    *self = ColumnBuilder::Float(v.iter().map(|&i| i as f64).collect());
                }
                (ColumnBuilder::Float(v), Parsed::Float(f)) => {
                    v.push(*f);
                    return;
                }
                (ColumnBuilder::Float(v), Parsed::Int(i)) => {
                    v.push(*i as f64);
                    return;
                }
                (ColumnBuilder::Float(v), Parsed::Missing) => {
                    v.push(f64::NAN);
                    return;
                }
                (ColumnBuilder::Bool(v), Parsed::Bool(b)) => {
                    v.push(*b);
                    return;
                }
                (ColumnBuilder::Str(s), p) => {
                    match p {
                        Parsed::Missing => s.push(None),
                        Parsed::Text(t) => s.push(Some(t)),
                        // Numbers and booleans in a text column stay as written.
                        Parsed::Int(_) | Parsed::Float(_) | Parsed::Bool(_) => s.push(Some(trim_raw(raw))),
                    }
                    return;
                }
                // Any other mix widens to text, keeping what was read so far.
                (current, _) => *self = ColumnBuilder::Str(std::mem::take(current).into_strings()),
            }
        }
    }

    /// Rewrites the values read so far as strings (pandas keeps a mixed column as `object`).
    fn into_strings(self) -> StrBuilder {
        let mut s = StrBuilder::default();
        match self {
            ColumnBuilder::Empty => {}
            ColumnBuilder::MissingOnly(n) => s.codes = vec![MISSING_CODE; n],
            ColumnBuilder::Int(v) => v.iter().for_each(|i| s.push(Some(&i.to_string()))),
            ColumnBuilder::Float(v) => {
                v.iter().for_each(|f| if f.is_nan() { s.push(None) } else { s.push(Some(&float_text(*f))) })
            }
            ColumnBuilder::Bool(v) => v.iter().for_each(|&b| s.push(Some(if b { "True" } else { "False" }))),
            ColumnBuilder::Str(done) => return done,
        }
        s
    }

    fn finish(self) -> Values {
        match self {
            ColumnBuilder::Empty => Values::Float(Vec::new()),
            ColumnBuilder::MissingOnly(n) => Values::Float(vec![f64::NAN; n]),
            ColumnBuilder::Int(v) => Values::Int(v),
            ColumnBuilder::Float(v) => Values::Float(v),
            ColumnBuilder::Bool(v) => Values::Bool(v),
            ColumnBuilder::Str(s) => Values::Str(StrColumn { codes: s.codes, dictionary: s.dictionary }),
        }
    }
}

fn trim_raw(raw: &[u8]) -> &str {
    std::str::from_utf8(raw).unwrap_or("")
}

/// How pandas prints a float that ended up in a text column (`1.0`, not `1`).
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 { format!("{f:.1}") } else { format!("{f}") }
}
