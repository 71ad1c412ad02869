//! Serde helpers for `f64` values that may be NaN or infinite.
//!
//! JSON has no NaN or infinity (serde_json writes them as `null` and cannot read them back), yet a
//! metric may be NaN and ASHA records it. These helpers write finite numbers as numbers and the
//! others as the strings `"nan"`, `"inf"` and `"-inf"`, so a state round-trips through JSON, TOML
//! and YAML alike. Use with `#[serde(with = "hpo_asha::serde_float")]` (for `f64`) or
//! `#[serde(with = "hpo_asha::serde_float::option")]` (for `Option<f64>`, `None` is `null`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Num(f64),
    Text(String),
}

fn to_repr(value: f64) -> Repr {
    if value.is_finite() {
        Repr::Num(value)
    } else if value.is_nan() {
        Repr::Text("nan".to_string())
    } else if value > 0.0 {
        Repr::Text("inf".to_string())
    } else {
        Repr::Text("-inf".to_string())
    }
}

fn from_repr<E: serde::de::Error>(repr: Repr) -> Result<f64, E> {
    match repr {
        Repr::Num(v) => Ok(v),
        Repr::Text(s) => match s.to_ascii_lowercase().as_str() {
            "nan" => Ok(f64::NAN),
            "inf" | "+inf" | "infinity" => Ok(f64::INFINITY),
            "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(E::custom(format!(
                "expected a number, \"nan\", \"inf\" or \"-inf\", found {s:?}"
            ))),
        },
    }
}

/// Serialise an `f64` (non-finite values as strings).
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    to_repr(*value).serialize(serializer)
}

/// Deserialise an `f64` written by [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    from_repr(Repr::deserialize(deserializer)?)
}

/// The same for `Option<f64>`: `None` is written as a unit/`null`.
pub mod option {
    use super::{Repr, from_repr, to_repr};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serialise an `Option<f64>`.
    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(to_repr).serialize(serializer)
    }

    /// Deserialise an `Option<f64>` written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Option::<Repr>::deserialize(deserializer)?.map(from_repr).transpose()
    }
}
