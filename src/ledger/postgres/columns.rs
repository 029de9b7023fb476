//! The columns of an output row, written once: every SELECT and every INSERT of
//! `pixpipe.outputs` is built from [`OUTPUT`], and rows are read back by column
//! name, so a column added or moved cannot shift the others.

use postgres::Row;
use postgres::types::ToSql;

use super::conn::Db;
use crate::ledger::{KnownOutput, LedgerErrorKind, OUTPUT_KEY, OutputRow, OutputState};

type Param = Box<dyn ToSql + Sync>;

/// A column's name and how an output row fills it.
type Column = (&'static str, fn(&OutputRow) -> Param);

/// The columns every output row has, in the order SELECTs list them.
const OUTPUT: [Column; 13] = [
    ("target", |o| Box::new(o.target.clone())),
    ("source_md5", |o| Box::new(o.source_md5.clone())),
    ("state", |o| Box::new(o.state.as_str())),
    ("source_path", |o| Box::new(o.source_path.clone())),
    ("output_md5", |o| Box::new(o.output_md5.clone())),
    ("location", |o| Box::new(o.location.clone())),
    ("answer", |o| Box::new(o.answer_json())),
    ("bytes", |o| Box::new(o.bytes.map(|b| b as i64))),
    ("width", |o| Box::new(o.width.map(|w| w as i32))),
    ("height", |o| Box::new(o.height.map(|h| h as i32))),
    ("title", |o| Box::new(o.title.clone())),
    ("reason", |o| Box::new(o.reason.clone())),
    ("at", |o| Box::new(o.at.clone())),
];

/// The output columns of table alias `of`, each under its own name.
pub fn select(of: &str) -> String {
    crate::ledger::aliased(of, OUTPUT.iter().map(|(name, _)| *name))
}

/// The placeholder of column `name` in [`upsert`].
fn param(name: &str) -> String {
    let i = OUTPUT.iter().position(|(n, _)| *n == name);
    format!("${}", i.expect("a column of OUTPUT") + 1)
}

/// Writes one output row unless another live worker owns its content now or has
/// written its row, and the quick-check rows given, in one statement. A row that
/// follows this worker's own `pending` row must find that row still its own: a worker
/// whose answer comes back after another took the file over never records over the
/// new owner, whether that one still runs or has gone. Its parameters: the columns of
/// [`OUTPUT`], then the run, the worker, the five arrays of [`FileKeys`], and whether
/// this worker wrote the `pending` row.
fn upsert() -> String {
    let n = OUTPUT.len();
    let names: Vec<&str> = OUTPUT.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = names
        .iter()
        .filter(|name| !OUTPUT_KEY.contains(name))
        .map(|name| format!("{name} = EXCLUDED.{name}"))
        .collect();
    let (target, md5, state) = (param("target"), param("source_md5"), param("state"));
    let (run, me) = (format!("${}", n + 1), format!("${}", n + 2));
    let file = |k: usize| format!("${}", n + 2 + k);
    let after_pending = format!("${}::BOOLEAN", n + 9);
    format!(
        "WITH owner AS (
            SELECT c.worker FROM pixpipe.content_claims c
            JOIN pixpipe.workers w ON w.id = c.worker AND w.lease_until > now()
            WHERE c.target = {target} AND c.source_md5 = {md5} AND c.worker <> {me}
            FOR UPDATE OF c
         ), taken AS (
            SELECT 1 FROM pixpipe.outputs o
            WHERE o.target = {target} AND o.source_md5 = {md5}
              AND o.worker IS DISTINCT FROM {me} AND o.state <> 'failed'
              AND ({after_pending} OR EXISTS (SELECT 1 FROM pixpipe.workers w
                    WHERE w.id = o.worker AND w.lease_until > now()))
         ), put AS (
            INSERT INTO pixpipe.outputs ({names}, run_id, worker)
            SELECT {values}, {run}, {me}
            WHERE NOT EXISTS (SELECT 1 FROM owner)
            ON CONFLICT (target, source_md5) DO UPDATE SET {updates},
                run_id = EXCLUDED.run_id, worker = EXCLUDED.worker
            WHERE (EXCLUDED.state <> 'failed' OR pixpipe.outputs.state = 'failed')
              AND NOT EXISTS (SELECT 1 FROM taken)
            RETURNING 1
         ), released AS (
            DELETE FROM pixpipe.content_claims
            WHERE target = {target} AND source_md5 = {md5} AND worker = {me}
              AND {state} <> 'pending' AND NOT EXISTS (SELECT 1 FROM owner)
            RETURNING 1
         ), quick AS (
            INSERT INTO pixpipe.files (path, dir, size, mtime_ns, source_md5, beside)
            SELECT * FROM unnest({}::BYTEA[], {}::BYTEA[], {}::BIGINT[], {}::BIGINT[], {}::TEXT[],
                {}::TEXT[])
            ON CONFLICT (path) DO UPDATE SET dir = EXCLUDED.dir, size = EXCLUDED.size,
               mtime_ns = EXCLUDED.mtime_ns, source_md5 = EXCLUDED.source_md5,
               beside = EXCLUDED.beside
            RETURNING 1
         )
         SELECT NOT EXISTS (SELECT 1 FROM owner) AND NOT EXISTS (SELECT 1 FROM taken) AS written",
        file(1),
        file(2),
        file(3),
        file(4),
        file(5),
        file(6),
        names = names.join(", "),
        values = values.join(", "),
        updates = updates.join(", "),
    )
}

/// Runs [`upsert`] for one row; gives whether the output was written. A final row
/// lets go of the content claim.
pub fn put_output(
    db: &mut Db<'_>,
    o: &OutputRow,
    files: &FileKeys,
    run: i64,
    me: &str,
    after_pending: bool,
) -> Result<bool, postgres::Error> {
    let values: Vec<Param> = OUTPUT.iter().map(|(_, value)| value(o)).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    params.extend([
        &run as &(dyn ToSql + Sync),
        &me,
        &files.paths,
        &files.dirs,
        &files.sizes,
        &files.mtimes,
        &files.md5s,
        &files.besides,
        &after_pending,
    ]);
    let row = db.query_one(&upsert(), &params)?;
    row.try_get("written")
}

/// Quick-check rows as stored: path and folder keys, size, mtime, md5.
#[derive(Default)]
pub struct FileKeys {
    pub paths: Vec<Vec<u8>>,
    pub dirs: Vec<Vec<u8>>,
    pub sizes: Vec<i64>,
    pub mtimes: Vec<i64>,
    pub md5s: Vec<String>,
    pub besides: Vec<String>,
}

/// Every quick-check row in one statement.
pub fn put_files(db: &mut Db<'_>, f: &FileKeys) -> Result<(), postgres::Error> {
    if f.paths.is_empty() {
        return Ok(());
    }
    db.execute(
        "INSERT INTO pixpipe.files (path, dir, size, mtime_ns, source_md5, beside)
         SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[],
            $6::TEXT[])
         ON CONFLICT (path) DO UPDATE SET dir = EXCLUDED.dir, size = EXCLUDED.size,
            mtime_ns = EXCLUDED.mtime_ns, source_md5 = EXCLUDED.source_md5,
            beside = EXCLUDED.beside",
        &[&f.paths, &f.dirs, &f.sizes, &f.mtimes, &f.md5s, &f.besides],
    )?;
    Ok(())
}

/// The output joined to a row of the quick check (`PgReader::known_in_dir`), from its
/// columns 5 to 8; a NULL state (never NULL in a row of `outputs`) means none joined.
pub fn known_output(r: &Row) -> Result<Option<KnownOutput>, LedgerErrorKind> {
    let Some(state) = r.try_get::<_, Option<&str>>(5).map_err(sql)? else {
        return Ok(None);
    };
    Ok(Some(KnownOutput {
        state: OutputState::parse(state)?,
        location: r.try_get(6).map_err(sql)?,
        output_md5: r.try_get(7).map_err(sql)?,
        answer: OutputRow::answer_from_json(r.try_get(8).map_err(sql)?)?,
    }))
}

/// An output row from a row that holds the columns of [`select`].
pub fn output(r: &Row) -> Result<OutputRow, LedgerErrorKind> {
    let state: String = r.try_get("state").map_err(sql)?;
    let answer: Option<String> = r.try_get("answer").map_err(sql)?;
    let get_u32 = |name: &str| -> Result<Option<u32>, LedgerErrorKind> {
        Ok(r.try_get::<_, Option<i32>>(name)
            .map_err(sql)?
            .map(|v| v as u32))
    };
    Ok(OutputRow {
        target: r.try_get("target").map_err(sql)?,
        source_md5: r.try_get("source_md5").map_err(sql)?,
        state: OutputState::parse(&state)?,
        source_path: r
            .try_get::<_, Option<String>>("source_path")
            .map_err(sql)?
            .unwrap_or_default(),
        output_md5: r.try_get("output_md5").map_err(sql)?,
        location: r.try_get("location").map_err(sql)?,
        answer: OutputRow::answer_from_json(answer.as_deref())?,
        bytes: r
            .try_get::<_, Option<i64>>("bytes")
            .map_err(sql)?
            .map(|b| b as u64),
        width: get_u32("width")?,
        height: get_u32("height")?,
        title: r.try_get("title").map_err(sql)?,
        reason: r.try_get("reason").map_err(sql)?,
        at: r.try_get("at").map_err(sql)?,
    })
}

fn sql(e: postgres::Error) -> LedgerErrorKind {
    super::error::kind(e)
}

/// Rows read on the connection's thread, turned into output rows on this one.
pub fn outputs_of(rows: Vec<Row>) -> Result<Vec<OutputRow>, LedgerErrorKind> {
    rows.iter().map(output).collect()
}
