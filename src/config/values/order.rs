//! `metadata.precedence`: for each field, the places its value may come from, most
//! trusted first. Each list is checked while it is read: a place that can never hold
//! the field, a place named twice or an empty list is said at its own line.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::media::{Field, Origin, Precedence};

/// `metadata.precedence` as written; a field left out keeps its default order.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrecedenceFile {
    #[serde(
        default,
        deserialize_with = "title",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Vec<Origin>>,
    #[serde(
        default,
        deserialize_with = "description",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Vec<Origin>>,
    #[serde(
        default,
        deserialize_with = "keywords",
        skip_serializing_if = "Option::is_none"
    )]
    pub keywords: Option<Vec<Origin>>,
    #[serde(
        default,
        deserialize_with = "date",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<Vec<Origin>>,
}

impl PrecedenceFile {
    /// The orders of a run: each field as written, or its default.
    pub fn resolve(&self) -> Precedence {
        let d = Precedence::default();
        Precedence {
            title: self.title.clone().unwrap_or(d.title),
            description: self.description.clone().unwrap_or(d.description),
            keywords: self.keywords.clone().unwrap_or(d.keywords),
            date: self.date.clone().unwrap_or(d.date),
        }
    }
}

fn title<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Origin>>, D::Error> {
    order(d, Field::Title)
}
fn description<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Origin>>, D::Error> {
    order(d, Field::Description)
}
fn keywords<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Origin>>, D::Error> {
    order(d, Field::Keywords)
}
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Origin>>, D::Error> {
    order(d, Field::Date)
}

/// One field's order, checked against the places that can hold it.
fn order<'de, D: Deserializer<'de>>(d: D, field: Field) -> Result<Option<Vec<Origin>>, D::Error> {
    let list = Vec::<Origin>::deserialize(d)?;
    let allowed = field.places();
    let field = field.name();
    let names = || {
        allowed
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if list.is_empty() {
        return Err(de::Error::custom(format!(
            "the {field} needs at least one place to come from: {}",
            names()
        )));
    }
    for (i, o) in list.iter().enumerate() {
        if !allowed.contains(o) {
            return Err(de::Error::custom(format!(
                "`{}` never holds a {field}; the {field} may come from {}",
                o.name(),
                names()
            )));
        }
        if list[..i].contains(o) {
            return Err(de::Error::custom(format!(
                "`{}` is named twice in the order of the {field}",
                o.name()
            )));
        }
    }
    Ok(Some(list))
}
