//! Search spaces, parameter values and their validation.
//!
//! A [`SearchSpace`] maps parameter names to [`Distribution`]s, in name order (a `BTreeMap`, so
//! every iteration that feeds a decision is deterministic). Spaces come from TOML or JSON tables
//! such as `[space.lr] type = "float", low = 9e-5, high = 1.3e-4, log = true`, or from code.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One parameter's value. Serialises to a plain JSON/TOML value (`0.1`, `3`, `"relu"`, `true`).
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A float parameter's value, or a numeric categorical choice written with a fraction.
    Float(f64),
    /// An int parameter's value, or an integer categorical choice.
    Int(i64),
    /// A string categorical choice.
    Str(String),
    /// A boolean categorical choice.
    Bool(bool),
}

/// The parameters of one trial, by name.
pub type Params = BTreeMap<String, ParamValue>;

impl ParamValue {
    /// The value as a float: ints widen, bools and strings give `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            ParamValue::Float(x) => Some(x),
            ParamValue::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The value as an int: floats only when integral, bools and strings give `None`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            ParamValue::Int(i) => Some(i),
            ParamValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x as i64),
            _ => None,
        }
    }

    /// The value as a string slice, for string choices.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool, for boolean choices.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            ParamValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Equality that treats `Int(2)` and `Float(2.0)` as the same number.
    fn same_as(&self, other: &ParamValue) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => self == other,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Str(s) => write!(f, "{s:?}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<f64> for ParamValue {
    fn from(x: f64) -> Self {
        ParamValue::Float(x)
    }
}
impl From<i64> for ParamValue {
    fn from(i: i64) -> Self {
        ParamValue::Int(i)
    }
}
impl From<bool> for ParamValue {
    fn from(b: bool) -> Self {
        ParamValue::Bool(b)
    }
}
impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Str(s.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::Str(s)
    }
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Float(x) => s.serialize_f64(*x),
            ParamValue::Int(i) => s.serialize_i64(*i),
            ParamValue::Str(v) => s.serialize_str(v),
            ParamValue::Bool(b) => s.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ParamValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a string or a bool")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<ParamValue, E> {
                Ok(ParamValue::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<ParamValue, E> {
                Ok(i64::try_from(u).map_or(ParamValue::Float(u as f64), ParamValue::Int))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<ParamValue, E> {
                Ok(ParamValue::Float(x))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::Str(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The distribution of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// A float in `[low, high]`; `log` samples in log space; `step` restricts to
    /// `low + k * step` (not with `log`).
    Float {
        /// Lower bound, inclusive.
        low: f64,
        /// Upper bound, inclusive.
        high: f64,
        /// Log-uniform prior (needs `low > 0`).
        log: bool,
        /// Grid spacing, if discrete.
        step: Option<f64>,
    },
    /// An int in `[low, high]` on the grid `low + k * step`; `log` needs `step == 1`.
    Int {
        /// Lower bound, inclusive.
        low: i64,
        /// Upper bound, inclusive (`high - low` must be a multiple of `step`).
        high: i64,
        /// Log-uniform prior (needs `low > 0`).
        log: bool,
        /// Grid spacing (1 for a plain int).
        step: i64,
    },
    /// One of a list of values (strings, numbers or bools).
    Categorical {
        /// The choices, in order; the internal representation is the index.
        choices: Vec<ParamValue>,
    },
}

impl Distribution {
    /// A uniform float in `[low, high]`.
    pub fn float(low: f64, high: f64) -> Self {
        Distribution::Float { low, high, log: false, step: None }
    }
    /// A log-uniform float in `[low, high]`.
    pub fn float_log(low: f64, high: f64) -> Self {
        Distribution::Float { low, high, log: true, step: None }
    }
    /// A float on the grid `low, low + step, ..., high`.
    pub fn float_step(low: f64, high: f64, step: f64) -> Self {
        Distribution::Float { low, high, log: false, step: Some(step) }
    }
    /// A uniform int in `[low, high]`.
    pub fn int(low: i64, high: i64) -> Self {
        Distribution::Int { low, high, log: false, step: 1 }
    }
    /// A log-uniform int in `[low, high]`.
    pub fn int_log(low: i64, high: i64) -> Self {
        Distribution::Int { low, high, log: true, step: 1 }
    }
    /// An int on the grid `low, low + step, ..., high`.
    pub fn int_step(low: i64, high: i64, step: i64) -> Self {
        Distribution::Int { low, high, log: false, step }
    }
    /// A categorical over `choices`.
    pub fn categorical(choices: impl IntoIterator<Item = impl Into<ParamValue>>) -> Self {
        Distribution::Categorical { choices: choices.into_iter().map(Into::into).collect() }
    }

    /// Checks the distribution, naming `param` in the error.
    pub fn validate(&self, param: &str) -> Result<(), SpaceError> {
        let p = || param.to_string();
        match *self {
            Distribution::Float { low, high, log, step } => {
                if !low.is_finite() {
                    return Err(SpaceError::NonFinite { param: p(), key: "low" });
                }
                if !high.is_finite() {
                    return Err(SpaceError::NonFinite { param: p(), key: "high" });
                }
                if low > high {
                    return Err(SpaceError::LowAboveHigh {
                        param: p(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if let Some(step) = step {
                    if !(step > 0.0 && step.is_finite()) {
                        return Err(SpaceError::StepNotPositive {
                            param: p(),
                            step: step.to_string(),
                        });
                    }
                    if log {
                        return Err(SpaceError::StepWithLog { param: p() });
                    }
                    let r = (high - low) / step;
                    if (r - r.round()).abs() > 1e-8 * r.max(1.0) {
                        let fixed = low + r.floor() * step;
                        return Err(SpaceError::RangeNotDivisible {
                            param: p(),
                            low: low.to_string(),
                            high: high.to_string(),
                            step: step.to_string(),
                            suggested_high: fixed.to_string(),
                        });
                    }
                }
                if log && low <= 0.0 {
                    return Err(SpaceError::LogNeedsPositiveLow {
                        param: p(),
                        low: low.to_string(),
                    });
                }
            }
            Distribution::Int { low, high, log, step } => {
                if low > high {
                    return Err(SpaceError::LowAboveHigh {
                        param: p(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if step <= 0 {
                    return Err(SpaceError::StepNotPositive { param: p(), step: step.to_string() });
                }
                if log && step != 1 {
                    return Err(SpaceError::StepWithLog { param: p() });
                }
                if log && low <= 0 {
                    return Err(SpaceError::LogNeedsPositiveLow {
                        param: p(),
                        low: low.to_string(),
                    });
                }
                let span = high as i128 - low as i128;
                if span % step as i128 != 0 {
                    return Err(SpaceError::RangeNotDivisible {
                        param: p(),
                        low: low.to_string(),
                        high: high.to_string(),
                        step: step.to_string(),
                        suggested_high: (high as i128 - span % step as i128).to_string(),
                    });
                }
            }
            Distribution::Categorical { ref choices } => {
                if choices.is_empty() {
                    return Err(SpaceError::EmptyCategorical { param: p() });
                }
                for (i, c) in choices.iter().enumerate() {
                    if let ParamValue::Float(x) = c
                        && !x.is_finite()
                    {
                        return Err(SpaceError::BadChoice {
                            param: p(),
                            index: i,
                            reason: "choices must be finite numbers, strings or bools".into(),
                        });
                    }
                    if choices[..i].iter().any(|d| d.same_as(c)) {
                        return Err(SpaceError::DuplicateChoice {
                            param: p(),
                            choice: c.to_string(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// True when the distribution allows a single value (`low == high`, or one choice).
    pub fn is_fixed(&self) -> bool {
        match self {
            Distribution::Float { low, high, .. } => low == high,
            Distribution::Int { low, high, .. } => low == high,
            Distribution::Categorical { choices } => choices.len() == 1,
        }
    }

    /// The internal (numeric) representation of a value already known to be valid:
    /// the number itself, or the choice index.
    pub(crate) fn to_internal(&self, value: &ParamValue) -> Option<f64> {
        match self {
            Distribution::Float { .. } | Distribution::Int { .. } => value.as_f64(),
            Distribution::Categorical { choices } => {
                choices.iter().position(|c| c.same_as(value)).map(|i| i as f64)
            }
        }
    }

    /// The value for an internal representation (already snapped to the grid).
    pub(crate) fn value_of_internal(&self, x: f64) -> ParamValue {
        match self {
            Distribution::Float { low, high, .. } => ParamValue::Float(x.clamp(*low, *high)),
            Distribution::Int { low, high, .. } => {
                ParamValue::Int((x.round() as i64).clamp(*low, *high))
            }
            Distribution::Categorical { choices } => {
                let i = (x.max(0.0) as usize).min(choices.len() - 1);
                choices[i].clone()
            }
        }
    }

    /// Checks that `value` belongs to this distribution and returns it in canonical form
    /// (an int given for a float parameter becomes a float, a choice takes the choice's form).
    pub fn check_value(&self, param: &str, value: &ParamValue) -> Result<ParamValue, ParamError> {
        let wrong = |expected: &'static str| ParamError::WrongType {
            param: param.to_string(),
            expected,
            value: value.to_string(),
        };
        match *self {
            Distribution::Float { low, high, step, .. } => {
                let x = value.as_f64().ok_or_else(|| wrong("a number"))?;
                if !(low..=high).contains(&x) {
                    return Err(ParamError::OutOfRange {
                        param: param.to_string(),
                        value: value.to_string(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if let Some(step) = step {
                    let k = (x - low) / step;
                    if (k - k.round()).abs() > 1e-8 * k.abs().max(1.0) {
                        return Err(ParamError::OffGrid {
                            param: param.to_string(),
                            value: value.to_string(),
                            low: low.to_string(),
                            step: step.to_string(),
                        });
                    }
                }
                Ok(ParamValue::Float(x))
            }
            Distribution::Int { low, high, step, .. } => {
                let i = value.as_i64().ok_or_else(|| wrong("an integer"))?;
                if !(low..=high).contains(&i) {
                    return Err(ParamError::OutOfRange {
                        param: param.to_string(),
                        value: value.to_string(),
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if (i - low) % step != 0 {
                    return Err(ParamError::OffGrid {
                        param: param.to_string(),
                        value: value.to_string(),
                        low: low.to_string(),
                        step: step.to_string(),
                    });
                }
                Ok(ParamValue::Int(i))
            }
            Distribution::Categorical { ref choices } => choices
                .iter()
                .find(|c| c.same_as(value))
                .cloned()
                .ok_or_else(|| ParamError::NotAChoice {
                    param: param.to_string(),
                    value: value.to_string(),
                    choices: choices.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                }),
        }
    }
}

/// A validated search space: parameter name to distribution, in name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchSpace {
    params: BTreeMap<String, Distribution>,
}

impl SearchSpace {
    /// Builds and validates a space from `(name, distribution)` pairs.
    pub fn from_params(
        params: impl IntoIterator<Item = (impl Into<String>, Distribution)>,
    ) -> Result<Self, SpaceError> {
        let mut map = BTreeMap::new();
        for (name, dist) in params {
            let name = name.into();
            dist.validate(&name)?;
            if map.insert(name.clone(), dist).is_some() {
                return Err(SpaceError::DuplicateParam { param: name });
            }
        }
        Ok(SearchSpace { params: map })
    }

    /// Reads the `[space.*]` tables of a TOML document; other top-level tables are ignored.
    pub fn from_toml_str(text: &str) -> Result<Self, SpaceError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| SpaceError::Toml(e.to_string()))?;
        let space = doc.get("space").ok_or(SpaceError::MissingSpace)?;
        Self::from_toml_value(space)
    }

    /// Reads the value of a `space` table (a table of parameter tables), e.g. from a study config.
    pub fn from_toml_value(space: &toml::Value) -> Result<Self, SpaceError> {
        let json = serde_json::to_value(space).map_err(|e| SpaceError::Toml(e.to_string()))?;
        Self::from_json_value(&json)
    }

    /// Reads the `"space"` object of a JSON document; other top-level keys are ignored.
    pub fn from_json_str(text: &str) -> Result<Self, SpaceError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| SpaceError::Json(e.to_string()))?;
        let space = doc.get("space").ok_or(SpaceError::MissingSpace)?;
        Self::from_json_value(space)
    }

    /// Reads a JSON object of parameter objects (the value of `"space"`).
    pub fn from_json_value(space: &Value) -> Result<Self, SpaceError> {
        let map = space.as_object().ok_or(SpaceError::SpaceNotATable)?;
        let mut params = BTreeMap::new();
        for (name, v) in map {
            let dist = parse_param(name, v)?;
            dist.validate(name)?;
            params.insert(name.clone(), dist);
        }
        Ok(SearchSpace { params })
    }

    /// The distribution of `name`.
    pub fn get(&self, name: &str) -> Option<&Distribution> {
        self.params.get(name)
    }

    /// Parameters in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Distribution)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when the space has no parameter.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Checks a (possibly partial) set of parameters against the space and returns them in
    /// canonical form. Unknown names are errors.
    pub fn check_params(&self, params: &Params) -> Result<Params, ParamError> {
        let mut out = Params::new();
        for (name, value) in params {
            let dist = self
                .params
                .get(name)
                .ok_or_else(|| ParamError::UnknownParam { param: name.clone() })?;
            out.insert(name.clone(), dist.check_value(name, value)?);
        }
        Ok(out)
    }
}

impl Serialize for Distribution {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Distribution::Float { low, high, log, step } => {
                m.serialize_entry("type", "float")?;
                m.serialize_entry("low", low)?;
                m.serialize_entry("high", high)?;
                if *log {
                    m.serialize_entry("log", &true)?;
                }
                if let Some(step) = step {
                    m.serialize_entry("step", step)?;
                }
            }
            Distribution::Int { low, high, log, step } => {
                m.serialize_entry("type", "int")?;
                m.serialize_entry("low", low)?;
                m.serialize_entry("high", high)?;
                if *log {
                    m.serialize_entry("log", &true)?;
                }
                if *step != 1 {
                    m.serialize_entry("step", step)?;
                }
            }
            Distribution::Categorical { choices } => {
                m.serialize_entry("type", "categorical")?;
                m.serialize_entry("choices", choices)?;
            }
        }
        m.end()
    }
}

impl Serialize for SearchSpace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.params.serialize(s)
    }
}

/// Deserialises the `space` table itself (parameter name to parameter table), validated. Each
/// parameter is read and checked as its own value, so a format that knows positions (TOML)
/// points an error at that parameter's table, not at the first one.
impl<'de> Deserialize<'de> for SearchSpace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SpaceVisitor;
        impl<'de> de::Visitor<'de> for SpaceVisitor {
            type Value = SearchSpace;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of parameter tables")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<SearchSpace, A::Error> {
                let mut params = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let dist = map.next_value_seed(ParamSeed { name: &name })?;
                    if params.insert(name.clone(), dist).is_some() {
                        return Err(de::Error::custom(SpaceError::DuplicateParam { param: name }));
                    }
                }
                Ok(SearchSpace { params })
            }
        }
        d.deserialize_map(SpaceVisitor)
    }
}

/// Reads and validates one parameter's table.
struct ParamSeed<'a> {
    name: &'a str,
}

impl<'de> de::DeserializeSeed<'de> for ParamSeed<'_> {
    type Value = Distribution;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Distribution, D::Error> {
        let v = Value::deserialize(d)?;
        let dist = parse_param(self.name, &v).map_err(de::Error::custom)?;
        dist.validate(self.name).map_err(de::Error::custom)?;
        Ok(dist)
    }
}

const FLOAT_KEYS: &str = "type, low, high, log, step";
const CATEGORICAL_KEYS: &str = "type, choices";

fn parse_param(name: &str, v: &Value) -> Result<Distribution, SpaceError> {
    let p = || name.to_string();
    let table = v.as_object().ok_or_else(|| SpaceError::NotATable { param: p() })?;
    let ty = match table.get("type") {
        None => return Err(SpaceError::MissingKey { param: p(), key: "type" }),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(SpaceError::WrongKeyType {
                param: p(),
                key: "type".into(),
                expected: "a string (float, int or categorical)",
                found: other.to_string(),
            });
        }
    };
    let allowed: &[&str] = match ty {
        "float" | "int" => &["type", "low", "high", "log", "step"],
        "categorical" => &["type", "choices"],
        _ => return Err(SpaceError::UnknownType { param: p(), found: ty.to_string() }),
    };
    for key in table.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(SpaceError::UnknownKey {
                param: p(),
                key: key.clone(),
                allowed: if ty == "categorical" { CATEGORICAL_KEYS } else { FLOAT_KEYS },
            });
        }
    }
    let log = match table.get("log") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(SpaceError::WrongKeyType {
                param: p(),
                key: "log".into(),
                expected: "a bool",
                found: other.to_string(),
            });
        }
    };
    match ty {
        "float" => {
            let num = |key: &'static str| -> Result<Option<f64>, SpaceError> {
                match table.get(key) {
                    None => Ok(None),
                    Some(v) => v.as_f64().map(Some).ok_or_else(|| SpaceError::WrongKeyType {
                        param: p(),
                        key: key.into(),
                        expected: "a number",
                        found: v.to_string(),
                    }),
                }
            };
            let low =
                num("low")?.ok_or_else(|| SpaceError::MissingKey { param: p(), key: "low" })?;
            let high =
                num("high")?.ok_or_else(|| SpaceError::MissingKey { param: p(), key: "high" })?;
            Ok(Distribution::Float { low, high, log, step: num("step")? })
        }
        "int" => {
            let int = |key: &'static str| -> Result<Option<i64>, SpaceError> {
                match table.get(key) {
                    None => Ok(None),
                    Some(v) => {
                        let i = v.as_i64().or_else(|| {
                            v.as_f64()
                                .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                                .map(|x| x as i64)
                        });
                        i.map(Some).ok_or_else(|| SpaceError::WrongKeyType {
                            param: p(),
                            key: key.into(),
                            expected: "an integer",
                            found: v.to_string(),
                        })
                    }
                }
            };
            let low =
                int("low")?.ok_or_else(|| SpaceError::MissingKey { param: p(), key: "low" })?;
            let high =
                int("high")?.ok_or_else(|| SpaceError::MissingKey { param: p(), key: "high" })?;
            let step = int("step")?;
            if log && step.is_some_and(|s| s != 1) {
                return Err(SpaceError::StepWithLog { param: p() });
            }
            Ok(Distribution::Int { low, high, log, step: step.unwrap_or(1) })
        }
        _ => {
            let list = match table.get("choices") {
                None => return Err(SpaceError::MissingKey { param: p(), key: "choices" }),
                Some(Value::Array(list)) => list,
                Some(other) => {
                    return Err(SpaceError::WrongKeyType {
                        param: p(),
                        key: "choices".into(),
                        expected: "a list",
                        found: other.to_string(),
                    });
                }
            };
            let mut choices = Vec::with_capacity(list.len());
            for (index, c) in list.iter().enumerate() {
                let value = match c {
                    Value::Bool(b) => ParamValue::Bool(*b),
                    Value::String(s) => ParamValue::Str(s.clone()),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => ParamValue::Int(i),
                        None => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                    },
                    _ => {
                        return Err(SpaceError::BadChoice {
                            param: p(),
                            index,
                            reason: format!("{c} is not a number, a string or a bool"),
                        });
                    }
                };
                choices.push(value);
            }
            Ok(Distribution::Categorical { choices })
        }
    }
}

/// A search space that cannot be read or is invalid. Every variant names the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    /// The TOML text does not parse.
    #[error("invalid toml: {0}")]
    Toml(String),
    /// The JSON text does not parse.
    #[error("invalid json: {0}")]
    Json(String),
    /// The document has no `space` table.
    #[error("no `space` table: declare each parameter as a [space.NAME] table")]
    MissingSpace,
    /// `space` is not a table.
    #[error("`space` must be a table of parameter tables")]
    SpaceNotATable,
    /// A parameter is not a table.
    #[error(
        "parameter `{param}`: expected a table such as {{ type = \"float\", low = 0.0, high = 1.0 }}"
    )]
    NotATable {
        /// Parameter name.
        param: String,
    },
    /// A required key is missing.
    #[error("parameter `{param}`: missing key `{key}`")]
    MissingKey {
        /// Parameter name.
        param: String,
        /// The missing key.
        key: &'static str,
    },
    /// A key that this parameter type does not know.
    #[error("parameter `{param}`: unknown key `{key}` (allowed: {allowed})")]
    UnknownKey {
        /// Parameter name.
        param: String,
        /// The unknown key.
        key: String,
        /// The keys allowed for the parameter's type.
        allowed: &'static str,
    },
    /// `type` is not float, int or categorical.
    #[error("parameter `{param}`: unknown type `{found}` (expected float, int or categorical)")]
    UnknownType {
        /// Parameter name.
        param: String,
        /// The type given.
        found: String,
    },
    /// A key holds a value of the wrong kind.
    #[error("parameter `{param}`: `{key}` must be {expected}, got {found}")]
    WrongKeyType {
        /// Parameter name.
        param: String,
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A bound is infinite or NaN.
    #[error("parameter `{param}`: `{key}` must be finite")]
    NonFinite {
        /// Parameter name.
        param: String,
        /// The key.
        key: &'static str,
    },
    /// `low > high`.
    #[error("parameter `{param}`: low ({low}) is greater than high ({high}); swap them")]
    LowAboveHigh {
        /// Parameter name.
        param: String,
        /// Lower bound.
        low: String,
        /// Upper bound.
        high: String,
    },
    /// Log scale with `low <= 0`.
    #[error("parameter `{param}`: log scale needs low > 0, got low = {low}")]
    LogNeedsPositiveLow {
        /// Parameter name.
        param: String,
        /// Lower bound.
        low: String,
    },
    /// `step <= 0`.
    #[error("parameter `{param}`: step must be positive, got {step}")]
    StepNotPositive {
        /// Parameter name.
        param: String,
        /// The step.
        step: String,
    },
    /// `step` together with `log`.
    #[error("parameter `{param}`: step cannot be combined with log = true; drop one of them")]
    StepWithLog {
        /// Parameter name.
        param: String,
    },
    /// `high - low` is not a multiple of `step`.
    #[error(
        "parameter `{param}`: range [{low}, {high}] is not divisible by step {step}; \
         set high to {suggested_high}"
    )]
    RangeNotDivisible {
        /// Parameter name.
        param: String,
        /// Lower bound.
        low: String,
        /// Upper bound.
        high: String,
        /// The step.
        step: String,
        /// The largest valid upper bound below `high`.
        suggested_high: String,
    },
    /// A categorical with no choice.
    #[error("parameter `{param}`: a categorical needs at least one choice")]
    EmptyCategorical {
        /// Parameter name.
        param: String,
    },
    /// A categorical choice that is not a scalar.
    #[error("parameter `{param}`: choice {index} is invalid: {reason}")]
    BadChoice {
        /// Parameter name.
        param: String,
        /// Index of the choice.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The same choice twice.
    #[error("parameter `{param}`: choice {choice} appears twice")]
    DuplicateChoice {
        /// Parameter name.
        param: String,
        /// The repeated choice.
        choice: String,
    },
    /// The same parameter name twice.
    #[error("parameter `{param}` is declared twice")]
    DuplicateParam {
        /// Parameter name.
        param: String,
    },
}

/// A parameter value that does not fit the search space (enqueued or added trials).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The name is not in the space.
    #[error("parameter `{param}` is not in the search space")]
    UnknownParam {
        /// Parameter name.
        param: String,
    },
    /// The value has the wrong kind.
    #[error("parameter `{param}`: expected {expected}, got {value}")]
    WrongType {
        /// Parameter name.
        param: String,
        /// What was expected.
        expected: &'static str,
        /// The value given.
        value: String,
    },
    /// The value is outside `[low, high]`.
    #[error("parameter `{param}`: {value} is outside [{low}, {high}]")]
    OutOfRange {
        /// Parameter name.
        param: String,
        /// The value given.
        value: String,
        /// Lower bound.
        low: String,
        /// Upper bound.
        high: String,
    },
    /// The value is not on the step grid.
    #[error("parameter `{param}`: {value} is not on the grid {low} + k * {step}")]
    OffGrid {
        /// Parameter name.
        param: String,
        /// The value given.
        value: String,
        /// Lower bound.
        low: String,
        /// The step.
        step: String,
    },
    /// The value is not one of the choices.
    #[error("parameter `{param}`: {value} is not one of the choices [{choices}]")]
    NotAChoice {
        /// Parameter name.
        param: String,
        /// The value given.
        value: String,
        /// The choices.
        choices: String,
    },
}
