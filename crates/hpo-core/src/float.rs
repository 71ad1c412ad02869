//! The one float rule: a finite `f64` is written as a number, NaN as `"nan"`, infinities as
//! `"inf"` and `"-inf"`. JSON has neither NaN nor infinity (serde_json writes `null` and cannot
//! read it back as a number), TOML and YAML have them with other spellings; this rule reads the
//! same in all three.
//!
//! Reading is lenient in one fixed way, the same everywhere: the words are matched without case,
//! `"+inf"`, `"infinity"` and `"-infinity"` are accepted, and a bare `null` where an `f64` (not
//! an `Option<f64>`) is expected reads as NaN, which is how journals written before this rule
//! recorded a NaN.
//!
//! Use [`Float`] inside other types, or the `with` modules on fields:
//! `#[serde(with = "hpo_core::float")]` for `f64`, [`option`] for `Option<f64>` (`None` is
//! `null`), [`seq`] for a collection of `f64`, [`option_seq`] for one of `Option<f64>`, [`map`]
//! for a `BTreeMap<String, f64>`.
//!
//! ```
//! use hpo_core::float::Float;
//!
//! assert_eq!(serde_json::to_string(&[Float(0.5), Float(f64::NAN)])?, r#"[0.5,"nan"]"#);
//! let back: Vec<Float> = serde_json::from_str(r#"[1, "-inf", null, "Infinity"]"#)?;
//! assert_eq!(back[1].0, f64::NEG_INFINITY);
//! assert!(back[2].0.is_nan());
//! assert_eq!(back[3].0, f64::INFINITY);
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An `f64` that serialises by the float rule.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Float(pub f64);

/// The rule's word for a non-finite value; `None` for a finite one.
pub fn word(value: f64) -> Option<&'static str> {
    if value.is_finite() {
        None
    } else if value.is_nan() {
        Some("nan")
    } else if value > 0.0 {
        Some("inf")
    } else {
        Some("-inf")
    }
}

/// The value of one of the rule's words (any case; also `+inf`, `infinity`, `-infinity`).
pub fn from_word(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match word(self.0) {
            None => serializer.serialize_f64(self.0),
            Some(w) => serializer.serialize_str(w),
        }
    }
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = Float;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"nan\", \"inf\" or \"-inf\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Float, E> {
        Ok(Float(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Float, E> {
        Ok(Float(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Float, E> {
        Ok(Float(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Float, E> {
        from_word(v).map(Float).ok_or_else(|| {
            E::custom(format!("expected a number, \"nan\", \"inf\" or \"-inf\", found {v:?}"))
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Float, E> {
        Ok(Float(f64::NAN))
    }

    fn visit_none<E: de::Error>(self) -> Result<Float, E> {
        Ok(Float(f64::NAN))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Float, D::Error> {
        d.deserialize_any(FloatVisitor)
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Float, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }
}

/// Serialise an `f64` by the rule.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    Float(*value).serialize(serializer)
}

/// Deserialise an `f64` written by the rule (or a legacy `null`, as NaN).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Float::deserialize(deserializer)?.0)
}

/// `Option<f64>`: `None` is `null`, `Some` follows the rule.
pub mod option {
    use super::*;

    /// Serialise an `Option<f64>`.
    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(Float).serialize(serializer)
    }

    /// Deserialise an `Option<f64>`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Float>::deserialize(deserializer)?.map(|f| f.0))
    }
}

/// A collection of `f64` (a `Vec`, a `VecDeque`, ...), written as a sequence.
pub mod seq {
    use super::*;

    /// Serialise the values in order.
    pub fn serialize<'a, C, S>(values: &'a C, serializer: S) -> Result<S::Ok, S::Error>
    where
        &'a C: IntoIterator<Item = &'a f64>,
        S: Serializer,
    {
        serializer.collect_seq(values.into_iter().map(|&v| Float(v)))
    }

    /// Deserialise a sequence into the collection.
    pub fn deserialize<'de, C, D>(deserializer: D) -> Result<C, D::Error>
    where
        C: FromIterator<f64>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<Float>::deserialize(deserializer)?.into_iter().map(|f| f.0).collect())
    }
}

/// A collection of `Option<f64>`, written as a sequence with `null` for `None`.
pub mod option_seq {
    use super::*;

    /// Serialise the values in order.
    pub fn serialize<'a, C, S>(values: &'a C, serializer: S) -> Result<S::Ok, S::Error>
    where
        &'a C: IntoIterator<Item = &'a Option<f64>>,
        S: Serializer,
    {
        serializer.collect_seq(values.into_iter().map(|v| v.map(Float)))
    }

    /// Deserialise a sequence into the collection.
    pub fn deserialize<'de, C, D>(deserializer: D) -> Result<C, D::Error>
    where
        C: FromIterator<Option<f64>>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<Option<Float>>::deserialize(deserializer)?
            .into_iter()
            .map(|f| f.map(|f| f.0))
            .collect())
    }
}

/// A `BTreeMap<String, f64>` (a report's metrics).
pub mod map {
    use super::*;

    /// Serialise the map, values by the rule.
    pub fn serialize<S: Serializer>(
        values: &BTreeMap<String, f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(values.iter().map(|(k, &v)| (k, Float(v))))
    }

    /// Deserialise the map.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        Ok(BTreeMap::<String, Float>::deserialize(deserializer)?
            .into_iter()
            .map(|(k, f)| (k, f.0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Record {
        #[serde(with = "crate::float")]
        value: f64,
        #[serde(with = "crate::float::option")]
        best: Option<f64>,
        #[serde(with = "crate::float::seq")]
        window: VecDeque<f64>,
        #[serde(with = "crate::float::option_seq")]
        gaps: Vec<Option<f64>>,
        #[serde(with = "crate::float::map")]
        metrics: BTreeMap<String, f64>,
    }

    fn record() -> Record {
        Record {
            value: f64::NAN,
            best: Some(f64::INFINITY),
            window: VecDeque::from([1.5, f64::NEG_INFINITY]),
            gaps: vec![None, Some(f64::NAN), Some(-0.25)],
            metrics: BTreeMap::from([("score_pred".to_string(), f64::NAN), ("x".into(), 2.0)]),
        }
    }

    fn same(a: &Record, b: &Record) -> bool {
        let eq = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
        let eq_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => eq(x, y),
            (None, None) => true,
            _ => false,
        };
        eq(a.value, b.value)
            && eq_opt(a.best, b.best)
            && a.window.iter().zip(&b.window).all(|(x, y)| eq(*x, *y))
            && a.gaps.iter().zip(&b.gaps).all(|(x, y)| eq_opt(*x, *y))
            && a.metrics.iter().zip(&b.metrics).all(|((k, x), (l, y))| k == l && eq(*x, *y))
    }

    #[test]
    fn json_and_toml_round_trip_every_non_finite_value_with_the_same_words() {
        let r = record();
        let json = serde_json::to_string(&r).expect("json");
        assert_eq!(
            json,
            r#"{"value":"nan","best":"inf","window":[1.5,"-inf"],"gaps":[null,"nan",-0.25],"metrics":{"score_pred":"nan","x":2.0}}"#
        );
        assert!(same(&serde_json::from_str(&json).expect("json back"), &r));
        let mut t = record();
        t.gaps = vec![Some(f64::NAN), Some(-0.25)]; // TOML has no null
        let text = toml::to_string(&t).expect("toml");
        assert!(text.contains(r#"value = "nan""#), "{text}");
        assert!(same(&toml::from_str(&text).expect("toml back"), &t));
    }

    #[test]
    fn readers_take_the_legacy_null_and_other_spellings_and_name_what_they_want() {
        let r: Record = serde_json::from_str(
            r#"{"value":null,"best":null,"window":["NaN","+inf","Infinity",3],"gaps":[],"metrics":{"a":null,"b":"-Infinity"}}"#,
        )
        .expect("lenient");
        assert!(r.value.is_nan());
        assert_eq!(r.best, None);
        assert!(r.window[0].is_nan());
        assert_eq!((r.window[1], r.window[2], r.window[3]), (f64::INFINITY, f64::INFINITY, 3.0));
        assert!(r.metrics["a"].is_nan());
        assert_eq!(r.metrics["b"], f64::NEG_INFINITY);
        let err = serde_json::from_str::<Float>(r#""high""#).expect_err("not a float");
        assert!(
            err.to_string().contains(r#"expected a number, "nan", "inf" or "-inf", found "high""#),
            "{err}"
        );
    }
}
