//! A record's features: values in the order of a [`Layout`] (the feature names), which the
//! records of a batch share.
//!
//! A model's records nearly always list the same features in the same order. Keeping the
//! names once per batch rather than once per record (as a map per record did) saves an
//! allocation per feature when parsing, a string comparison per feature when checking and
//! folding, and the frees when the batch is dropped: these were most of ingestion's time.

use crate::record::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Feature names, each once, in the order records list them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    names: Vec<String>,
}

impl Layout {
    /// `None` when a name repeats.
    pub fn new(names: Vec<String>) -> Option<Layout> {
        let mut seen = HashSet::with_capacity(names.len());
        names.iter().all(|n| seen.insert(n.as_str())).then_some(Layout { names })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Feature name → value. Equality ignores order, as a map's would.
#[derive(Debug, Clone, Default)]
pub struct Features {
    layout: Arc<Layout>,
    values: Vec<Value>,
}

impl Features {
    pub fn new() -> Features {
        Features::default()
    }

    /// Values in `layout`'s order; `None` when the lengths differ.
    pub fn with_layout(layout: Arc<Layout>, values: Vec<Value>) -> Option<Features> {
        (layout.len() == values.len()).then_some(Features { layout, values })
    }

    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.layout.position(name).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.layout.position(name).map(|i| &mut self.values[i])
    }

    /// Sets a feature; the value it replaced, if it was there.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self.layout.position(&name) {
            Some(i) => Some(std::mem::replace(&mut self.values[i], value)),
            None => {
                Arc::make_mut(&mut self.layout).names.push(name);
                self.values.push(value);
                None
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.layout.position(name)?;
        Arc::make_mut(&mut self.layout).names.remove(i);
        Some(self.values.remove(i))
    }

    /// `(name, value)` in the layout's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.layout.names.iter().map(String::as_str).zip(&self.values)
    }

    pub fn names(&self) -> &[String] {
        &self.layout.names
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }

    /// The same features in `layout`'s order, where `from[i]` is the position in this
    /// record of `layout`'s feature `i` (a permutation worked out by the caller).
    pub(crate) fn rearranged(self, layout: &Arc<Layout>, from: &[usize]) -> Features {
        let mut old = self.values;
        let values = from.iter().map(|&j| std::mem::replace(&mut old[j], Value::Null)).collect();
        Features { layout: layout.clone(), values }
    }

    /// The same features under `layout`, which names them in the same order.
    pub(crate) fn relabelled(self, layout: &Arc<Layout>) -> Features {
        Features { layout: layout.clone(), values: self.values }
    }
}

impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.len() == other.len() && self.iter().all(|(name, v)| other.get(name) == Some(v))
    }
}

impl From<BTreeMap<String, Value>> for Features {
    fn from(map: BTreeMap<String, Value>) -> Features {
        let (names, values) = map.into_iter().unzip();
        Features { layout: Arc::new(Layout { names }), values }
    }
}

impl std::ops::Index<&str> for Features {
    type Output = Value;

    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_behave_as_a_map_whatever_their_order() {
        let mut a = Features::new();
        a.insert("x".into(), Value::Number(1.0));
        a.insert("y".into(), Value::Text("k".into()));
        let b: Features =
            BTreeMap::from([("y".to_string(), Value::Text("k".into())), ("x".to_string(), Value::Number(1.0))]).into();
        assert_eq!(a, b);
        assert_eq!(a.insert("x".into(), Value::Number(2.0)), Some(Value::Number(1.0)));
        assert_ne!(a, b);
        assert_eq!(a.remove("x"), Some(Value::Number(2.0)));
        assert_eq!(a.names(), ["y"]);
        assert_eq!(a["y"], Value::Text("k".into()));
        assert_eq!(a.get("x"), None);
    }

    #[test]
    fn changing_one_records_features_leaves_a_shared_layout_alone() {
        let layout = Arc::new(Layout::new(vec!["a".into(), "b".into()]).unwrap());
        let first = Features::with_layout(layout.clone(), vec![Value::Null, Value::Bool(true)]).unwrap();
        let mut second = first.clone();
        second.insert("c".into(), Value::Number(3.0));
        assert_eq!(first.names(), ["a", "b"]);
        assert_eq!(second.names(), ["a", "b", "c"]);
        assert_eq!(layout.names(), ["a", "b"]);
        assert!(Layout::new(vec!["a".into(), "a".into()]).is_none());
        assert!(Features::with_layout(layout, vec![]).is_none());
    }

    #[test]
    fn rearranging_puts_values_in_the_new_order() {
        let theirs = Features::from(BTreeMap::from([
            ("a".to_string(), Value::Number(1.0)),
            ("b".to_string(), Value::Number(2.0)),
        ]));
        let ours = Arc::new(Layout::new(vec!["b".into(), "a".into()]).unwrap());
        let moved = theirs.clone().rearranged(&ours, &[1, 0]);
        assert_eq!(moved.values(), [Value::Number(2.0), Value::Number(1.0)]);
        assert_eq!(moved, theirs);
        assert!(Arc::ptr_eq(moved.layout(), &ours));
    }
}
