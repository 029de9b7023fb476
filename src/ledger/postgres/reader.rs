//! The worker threads' lookups and claims on the shared ledger.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::columns::{self, outputs_of};
use super::conn::{Conn, Db};
use super::worker::Me;
use super::{Keys, Place};
use crate::ledger::{
    Candidate, ContentClaim, KnownDir, KnownFile, LedgerError, LedgerReader, OutputRow, OutputState,
};

/// Lookups and claims from the worker threads.
pub(super) struct PgReader {
    pub(super) place: Place,
    pub(super) conn: Conn,
    pub(super) me: Arc<Me>,
    pub(super) keys: Arc<Keys>,
}

impl PgReader {
    fn call<R: Send + 'static>(
        &self,
        work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerError> {
        self.conn.call(work).map_err(|k| self.place.error(k))
    }
}

impl LedgerReader for PgReader {
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let dir_key = self.keys.key(dir);
        let (d, t) = (dir_key.clone(), target.to_string());
        let rows = self.call(move |c| {
            c.query(
                "SELECT f.path, f.size, f.mtime_ns, f.source_md5, f.beside,
                    o.state, o.location, o.output_md5, o.answer
                 FROM pixpipe.files f LEFT JOIN pixpipe.outputs o
                    ON o.source_md5 = f.source_md5 AND o.target = $2
                 WHERE f.dir = $1",
                &[&d, &t],
            )
        })?;
        let mut known = KnownDir::default();
        for r in &rows {
            let key: Vec<u8> = r.get(0);
            let Some(full) = self.keys.full(dir, &dir_key, &key) else {
                continue;
            };
            let file = KnownFile {
                size: r.get::<_, i64>(1) as u64,
                mtime_ns: r.get(2),
                source_md5: r.get(3),
                beside: r.get(4),
                output: columns::known_output(r).map_err(|k| self.place.error(k))?,
            };
            known.insert(full.into_os_string().into_encoded_bytes(), file);
        }
        Ok(known)
    }

    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        let (t, m) = (target.to_string(), source_md5.to_string());
        let rows = self.call(move |c| c.query(&one_output(), &[&t, &m]))?;
        let mut rows = outputs_of(rows).map_err(|k| self.place.error(k))?;
        Ok(rows.pop())
    }

    /// One statement for the whole batch: a file is granted when no claim holds it (or
    /// its claim is this worker's, or its worker's lease is over) and it was not
    /// delivered, unchanged, since the quick check looked.
    fn claim_paths(&self, target: &str, files: &[Candidate<'_>]) -> Result<Vec<bool>, LedgerError> {
        if !self.me.registered() || files.is_empty() {
            return Ok(vec![true; files.len()]);
        }
        let keys: Vec<Vec<u8>> = files.iter().map(|f| self.keys.key(f.path)).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size as i64).collect();
        let mtimes: Vec<i64> = files.iter().map(|f| f.mtime_ns).collect();
        let besides: Vec<String> = files.iter().map(|f| f.beside.to_string()).collect();
        let (t, k, me) = (target.to_string(), keys.clone(), self.me.id.clone());
        let granted: HashSet<Vec<u8>> = self
            .call(move |c| {
                c.query(
                    "INSERT INTO pixpipe.path_claims (target, path, worker)
                     SELECT $1, w.path, $3
                     FROM unnest($2::BYTEA[], $4::BIGINT[], $5::BIGINT[], $6::TEXT[])
                         AS w(path, size, mtime, beside)
                     WHERE NOT EXISTS (SELECT 1 FROM pixpipe.files f
                         JOIN pixpipe.outputs o ON o.source_md5 = f.source_md5 AND o.target = $1
                         WHERE f.path = w.path AND f.size = w.size AND f.mtime_ns = w.mtime
                           AND (f.beside IS NULL OR f.beside = w.beside)
                           AND o.state IN ('written', 'uploaded', 'already_there'))
                     ON CONFLICT (target, path) DO UPDATE SET worker = EXCLUDED.worker
                     WHERE pixpipe.path_claims.worker = EXCLUDED.worker
                        OR NOT EXISTS (SELECT 1 FROM pixpipe.workers w
                            WHERE w.id = pixpipe.path_claims.worker AND w.lease_until > now())
                     RETURNING path",
                    &[&t, &k, &me, &sizes, &mtimes, &besides],
                )
            })?
            .iter()
            .map(|r| r.get("path"))
            .collect();
        Ok(keys.iter().map(|k| granted.contains(k)).collect())
    }

    /// Claims the content, then reads what the ledger holds of it: in that order, so a
    /// worker that delivered it meanwhile is seen.
    fn claim_content(
        &self,
        target: &str,
        source_md5: &str,
        path: &Path,
    ) -> Result<ContentClaim, LedgerError> {
        if !self.me.registered() {
            return Ok(ContentClaim::Mine(
                self.lookup(target, source_md5)?.map(Box::new),
            ));
        }
        let (t, m, me) = (
            target.to_string(),
            source_md5.to_string(),
            self.me.id.clone(),
        );
        let p = path.display().to_string();
        // Two statements, not one: the second must see a row another worker committed
        // after the first began.
        let (holder, rows) = self.call(move |db| {
            let mine = db.query_opt(
                "INSERT INTO pixpipe.content_claims (target, source_md5, worker, path)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (target, source_md5) DO UPDATE SET worker = EXCLUDED.worker,
                    path = EXCLUDED.path
                 WHERE pixpipe.content_claims.worker = EXCLUDED.worker
                    OR NOT EXISTS (SELECT 1 FROM pixpipe.workers w
                        WHERE w.id = pixpipe.content_claims.worker AND w.lease_until > now())
                 RETURNING 1",
                &[&t, &m, &me, &p],
            )?;
            if mine.is_none() {
                let holder = db
                    .query_opt(
                        "SELECT worker, path FROM pixpipe.content_claims
                         WHERE target = $1 AND source_md5 = $2",
                        &[&t, &m],
                    )?
                    .map(|r| (r.get::<_, String>("worker"), r.get::<_, String>("path")));
                return Ok((holder, Vec::new()));
            }
            let rows = db.query(
                &one_output(),
                &[&t, &m],
            )?;
            let delivered = rows
                .first()
                .and_then(|r| r.try_get::<_, String>("state").ok())
                .is_some_and(|s| OutputState::parse(&s).is_ok_and(OutputState::delivered));
            if delivered {
                db.execute(
                    "DELETE FROM pixpipe.content_claims WHERE target = $1 AND source_md5 = $2 AND worker = $3",
                    &[&t, &m, &me],
                )?;
            }
            Ok((None, rows))
        })?;
        if let Some((worker, path)) = holder {
            return Ok(ContentClaim::Held { worker, path });
        }
        let mut rows = outputs_of(rows).map_err(|k| self.place.error(k))?;
        Ok(ContentClaim::Mine(rows.pop().map(Box::new)))
    }
}

/// The output row of one (target, source md5).
fn one_output() -> String {
    format!(
        "SELECT {} FROM pixpipe.outputs o WHERE o.target = $1 AND o.source_md5 = $2",
        columns::select("o")
    )
}
