//! `pixpipe ledger`'s queries on the embedded ledger.

use std::ops::ControlFlow;

use rusqlite::params;

use super::error::error;
use super::{SqliteLedger, columns};
use crate::ledger::{
    History, LedgerError, OutputKey, OutputRow, OutputState, RunId, RunRow, SourceEntry, StatRow,
};

impl History for SqliteLedger {
    fn outputs(
        &self,
        target: Option<&str>,
        each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        let sql = format!(
            "SELECT {} FROM outputs WHERE (?1 IS NULL OR target = ?1) ORDER BY id",
            columns::select("outputs")
        );
        let mut stmt = self.writer.prepare(&sql).map_err(|e| self.err(e))?;
        let cols = columns::OutputColumns::of(&stmt).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![target]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            if each(cols.output(r).map_err(|k| error(&self.path, k))?).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<Vec<StatRow>, LedgerError> {
        let mut stmt = self
            .writer
            .prepare(
                "SELECT target, state, COUNT(*) AS files, COALESCE(SUM(bytes), 0) AS bytes
                 FROM outputs GROUP BY target, state ORDER BY target, state",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let state: String = r.get("state").map_err(|e| self.err(e))?;
            out.push(StatRow {
                target: r.get("target").map_err(|e| self.err(e))?,
                state: OutputState::parse(&state).map_err(|k| error(&self.path, k))?,
                files: r.get::<_, i64>("files").map_err(|e| self.err(e))? as u64,
                bytes: r.get::<_, i64>("bytes").map_err(|e| self.err(e))? as u64,
            });
        }
        Ok(out)
    }

    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let mut stmt = self
            .writer
            .prepare("SELECT target, source_md5, source_path FROM outputs ORDER BY id")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceEntry {
                    key: OutputKey {
                        target: r.get("target")?,
                        source_md5: r.get("source_md5")?,
                    },
                    source_path: r
                        .get::<_, Option<String>>("source_path")?
                        .unwrap_or_default(),
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    fn forget(&mut self, keys: &[OutputKey]) -> Result<usize, LedgerError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| error(&path, e);
        let tx = self.writer.transaction().map_err(err)?;
        let mut gone = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM outputs WHERE target = ?1 AND source_md5 = ?2")
                .map_err(err)?;
            for k in keys {
                gone += delete
                    .execute(params![k.target, k.source_md5])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(gone)
    }

    fn runs(&self) -> Result<Vec<RunRow>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let mut stmt = self
            .writer
            .prepare(
                "SELECT started_at, finished_at, pipeline, target, summary FROM runs ORDER BY id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunRow {
                    started_at: r.get("started_at")?,
                    finished_at: r.get("finished_at")?,
                    pipeline: r.get("pipeline")?,
                    target: r.get("target")?,
                    summary: r.get("summary")?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    fn import(&mut self, runs: &[RunRow], outputs: &[OutputRow]) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| error(&path, e);
        let tx = self.writer.transaction().map_err(err)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO runs (started_at, finished_at, pipeline, target, summary)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            for r in runs {
                put.execute(params![
                    r.started_at,
                    r.finished_at,
                    r.pipeline,
                    r.target,
                    r.summary
                ])
                .map_err(err)?;
            }
        }
        SqliteLedger::write_rows(&tx, &[], outputs, RunId(0)).map_err(err)?;
        tx.commit().map_err(err)
    }
}
