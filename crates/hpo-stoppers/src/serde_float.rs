//! Serde for windows of `f64` that may hold NaN or infinities (JSON has neither): finite values
//! are numbers, others the strings `"nan"`, `"inf"`, `"-inf"`; a missing value is `null`.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Num(f64),
    Text(String),
}

fn to_repr(value: f64) -> Repr {
    match value {
        v if v.is_finite() => Repr::Num(v),
        v if v.is_nan() => Repr::Text("nan".into()),
        v if v > 0.0 => Repr::Text("inf".into()),
        _ => Repr::Text("-inf".into()),
    }
}

fn from_repr<E: serde::de::Error>(repr: Repr) -> Result<f64, E> {
    match repr {
        Repr::Num(v) => Ok(v),
        Repr::Text(s) => match s.as_str() {
            "nan" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(E::custom(format!(
                "expected a number, \"nan\", \"inf\" or \"-inf\", found {s:?}"
            ))),
        },
    }
}

pub(crate) mod deque {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &VecDeque<f64>, s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(|&x| to_repr(x)).collect::<Vec<_>>().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VecDeque<f64>, D::Error> {
        Vec::<Repr>::deserialize(d)?.into_iter().map(from_repr).collect()
    }
}

pub(crate) mod option_deque {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &VecDeque<Option<f64>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.iter().map(|x| x.map(to_repr)).collect::<Vec<_>>().serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<VecDeque<Option<f64>>, D::Error> {
        Vec::<Option<Repr>>::deserialize(d)?
            .into_iter()
            .map(|x| x.map(from_repr).transpose())
            .collect()
    }
}
