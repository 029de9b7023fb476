//! `pixpipe ledger`'s queries on the shared ledger.

use std::ops::ControlFlow;

use super::PgLedger;
use super::columns::{self, FileKeys, put_output};
use crate::ledger::{
    History, LedgerError, OutputKey, OutputRow, OutputState, RunRow, SourceEntry, StatRow,
    WorkerRow,
};

impl History for PgLedger {
    /// A page at a time, so a table of millions of rows never sits in memory.
    fn outputs(
        &self,
        target: Option<&str>,
        each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        let target = target.map(str::to_string);
        let mut after = 0i64;
        loop {
            let t = target.clone();
            let rows = self.call(move |c| {
                c.query(
                    &format!(
                        "SELECT o.id AS id, {} FROM pixpipe.outputs o
                         WHERE ($1::TEXT IS NULL OR o.target = $1) AND o.id > $2
                         ORDER BY o.id LIMIT 1000",
                        columns::select("o")
                    ),
                    &[&t, &after],
                )
            })?;
            if rows.is_empty() {
                return Ok(());
            }
            after = rows.last().map_or(after, |r| r.get("id"));
            for row in columns::outputs_of(rows).map_err(|k| self.place.error(k))? {
                if each(row).is_break() {
                    return Ok(());
                }
            }
        }
    }

    fn stats(&self) -> Result<Vec<StatRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT target, state, COUNT(*)::BIGINT AS files,
                    COALESCE(SUM(bytes), 0)::BIGINT AS bytes
                 FROM pixpipe.outputs GROUP BY target, state ORDER BY target, state",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(StatRow {
                    target: r.get("target"),
                    state: OutputState::parse(r.get("state")).map_err(|k| self.place.error(k))?,
                    files: r.get::<_, i64>("files") as u64,
                    bytes: r.get::<_, i64>("bytes") as u64,
                })
            })
            .collect()
    }

    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT target, source_md5, source_path FROM pixpipe.outputs ORDER BY id",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| SourceEntry {
                key: OutputKey {
                    target: r.get("target"),
                    source_md5: r.get("source_md5"),
                },
                source_path: r
                    .get::<_, Option<String>>("source_path")
                    .unwrap_or_default(),
            })
            .collect())
    }

    fn forget(&mut self, keys: &[OutputKey]) -> Result<usize, LedgerError> {
        let keys = keys.to_vec();
        self.call(move |c| {
            let mut tx = c.client().transaction()?;
            let mut gone = 0;
            for k in &keys {
                gone += tx.execute(
                    "DELETE FROM pixpipe.outputs WHERE target = $1 AND source_md5 = $2",
                    &[&k.target, &k.source_md5],
                )? as usize;
            }
            tx.commit()?;
            Ok(gone)
        })
    }

    fn workers(&self) -> Result<Vec<WorkerRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT w.id AS id, w.host AS host, w.pid AS pid,
                    to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS started_at,
                    to_char(w.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS heartbeat_at,
                    to_char(w.lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS lease_until,
                    w.lease_until > now() AND w.finished_at IS NULL AS live,
                    w.finished_at IS NOT NULL AS finished,
                    (SELECT COUNT(*) FROM pixpipe.path_claims p WHERE p.worker = w.id)::BIGINT AS claims,
                    (SELECT COUNT(*) FROM pixpipe.outputs o WHERE o.worker = w.id)::BIGINT AS outputs,
                    GREATEST(EXTRACT(EPOCH FROM (COALESCE(w.finished_at, w.heartbeat_at) - w.started_at)), 0.001)::FLOAT8 AS seconds
                 FROM pixpipe.workers w ORDER BY w.started_at DESC LIMIT 100",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| {
                let outputs = r.get::<_, i64>("outputs") as u64;
                WorkerRow {
                    id: r.get("id"),
                    host: r.get("host"),
                    pid: r.get("pid"),
                    started_at: r.get("started_at"),
                    heartbeat_at: r.get("heartbeat_at"),
                    lease_until: r.get("lease_until"),
                    live: r.get("live"),
                    finished: r.get("finished"),
                    claims: r.get::<_, i64>("claims") as u64,
                    outputs,
                    files_per_second: outputs as f64 / r.get::<_, f64>("seconds"),
                }
            })
            .collect())
    }

    fn runs(&self) -> Result<Vec<RunRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT started_at, finished_at, pipeline, target, summary
                 FROM pixpipe.runs ORDER BY id",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| RunRow {
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
                pipeline: r.get("pipeline"),
                target: r.get("target"),
                summary: r.get("summary"),
            })
            .collect())
    }

    fn import(&mut self, runs: &[RunRow], outputs: &[OutputRow]) -> Result<(), LedgerError> {
        let (runs, outputs, me) = (runs.to_vec(), outputs.to_vec(), self.me.id.clone());
        self.call(move |db| {
            for r in &runs {
                db.execute(
                    "INSERT INTO pixpipe.runs (started_at, finished_at, pipeline, target, summary)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &r.started_at,
                        &r.finished_at,
                        &r.pipeline,
                        &r.target,
                        &r.summary,
                    ],
                )?;
            }
            for o in &outputs {
                put_output(db, o, &FileKeys::default(), 0, &me, false)?;
            }
            Ok(())
        })
    }
}
