//! The columns of an output row, written once: every SELECT and every INSERT of
//! `outputs` is built from [`OUTPUT`], values are bound by the column's name and read
//! back by it (the name looked up once per statement, not once per row: a re-run
//! reads a row per file), so a column added or moved cannot shift the others.

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Row, Statement, ToSql};

use crate::ledger::{LedgerErrorKind, OUTPUT_KEY, OutputRow, OutputState, RunId};

/// A column's name and how an output row fills it.
type Column = (&'static str, fn(&OutputRow) -> Value);

fn text(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::Text)
}

fn int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Integer)
}

/// The columns every output row has, in the order SELECTs list them.
const OUTPUT: [Column; 13] = [
    ("target", |o| Value::Text(o.target.clone())),
    ("source_md5", |o| Value::Text(o.source_md5.clone())),
    ("state", |o| Value::Text(o.state.as_str().to_string())),
    ("source_path", |o| Value::Text(o.source_path.clone())),
    ("output_md5", |o| text(&o.output_md5)),
    ("location", |o| text(&o.location)),
    ("answer", |o| text(&o.answer_json())),
    ("bytes", |o| int(o.bytes.map(|b| b as i64))),
    ("width", |o| int(o.width.map(i64::from))),
    ("height", |o| int(o.height.map(i64::from))),
    ("title", |o| text(&o.title)),
    ("reason", |o| text(&o.reason)),
    ("at", |o| Value::Text(o.at.clone())),
];

/// The output columns of table (or alias) `of`, each under its own name.
pub fn select(of: &str) -> String {
    crate::ledger::aliased(of, OUTPUT.iter().map(|(name, _)| *name))
}

/// Writes an output row, parameters named after the columns, plus `:run_id`. A
/// failure never replaces a row that says the file is there.
pub fn upsert() -> String {
    let names: Vec<&str> = OUTPUT.iter().map(|(n, _)| *n).collect();
    let values: Vec<String> = names.iter().map(|n| format!(":{n}")).collect();
    let updates: Vec<String> = names
        .iter()
        .filter(|n| !OUTPUT_KEY.contains(n))
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    format!(
        "INSERT INTO outputs ({}, run_id) VALUES ({}, :run_id)
         ON CONFLICT(target, source_md5) DO UPDATE SET {}, run_id = excluded.run_id
         WHERE excluded.state <> 'failed' OR outputs.state = 'failed'",
        names.join(", "),
        values.join(", "),
        updates.join(", ")
    )
}

/// Runs [`upsert`] for one row.
pub fn put(stmt: &mut CachedStatement<'_>, o: &OutputRow, run: RunId) -> rusqlite::Result<()> {
    let values: Vec<(String, Value)> = OUTPUT
        .iter()
        .map(|(name, value)| (format!(":{name}"), value(o)))
        .collect();
    let mut params: Vec<(&str, &dyn ToSql)> = values
        .iter()
        .map(|(name, value)| (name.as_str(), value as &dyn ToSql))
        .collect();
    params.push((":run_id", &run.0));
    stmt.execute(params.as_slice()).map(|_| ())
}

/// Where a statement that selects [`select`] holds each output column.
pub struct OutputColumns([usize; OUTPUT.len()]);

impl OutputColumns {
    pub fn of(stmt: &Statement<'_>) -> rusqlite::Result<OutputColumns> {
        let mut at = [0; OUTPUT.len()];
        for (i, (name, _)) in OUTPUT.iter().enumerate() {
            at[i] = stmt.column_index(name)?;
        }
        Ok(OutputColumns(at))
    }

    /// An output row from a row of the statement these columns were found in.
    pub fn output(&self, r: &Row<'_>) -> Result<OutputRow, LedgerErrorKind> {
        // In the order of [`OUTPUT`].
        let [
            target,
            source_md5,
            state,
            source_path,
            output_md5,
            location,
            answer,
            bytes,
            width,
            height,
            title,
            reason,
            at,
        ] = self.0;
        let state: String = r.get(state)?;
        let answer: Option<String> = r.get(answer)?;
        Ok(OutputRow {
            target: r.get(target)?,
            source_md5: r.get(source_md5)?,
            state: OutputState::parse(&state)?,
            source_path: r.get::<_, Option<String>>(source_path)?.unwrap_or_default(),
            output_md5: r.get(output_md5)?,
            location: r.get(location)?,
            answer: OutputRow::answer_from_json(answer.as_deref())?,
            bytes: r.get::<_, Option<i64>>(bytes)?.map(|b| b as u64),
            width: r.get(width)?,
            height: r.get(height)?,
            title: r.get(title)?,
            reason: r.get(reason)?,
            at: r.get(at)?,
        })
    }
}
