//! The one way to update a row: read it inside the change that writes it (the change holds the
//! audit head's lock, so no other writer can land between the read and the write), derive the
//! new row from it, and let `Change::update` write only the columns that differ and record their
//! before and after. Expensive work (password hashing) is done before the change begins, never
//! between the read and the write.

use sqlx::any::AnyRow;

use super::Change;
use crate::db::{Arg, Sql};
use crate::error::AppResult;

/// A row's writable columns as (name, value), in a fixed order: what `Change::update` compares
/// and writes, and what the audit event shows before and after.
pub trait Columns {
    fn columns(&self) -> Vec<(&'static str, Arg)>;

    /// How the trail shows `column`'s `value`: as stored, unless a column must be hidden (a
    /// password hash) or read (a time).
    fn shown(&self, column: &str, value: &Arg) -> serde_json::Value {
        let _ = column;
        value.to_json()
    }

    /// The update event's summary: the changed columns as shown, before and after. A row whose
    /// latest event must say more (an account's role, scope and disabled, which `huoyan audit
    /// verify` checks against the row: `huoyan_core::audit::facts`) builds its own.
    fn summary(
        before: &Self,
        after: &Self,
        was: serde_json::Map<String, serde_json::Value>,
        now: serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Value
    where
        Self: Sized,
    {
        let _ = (before, after);
        serde_json::json!({"before": was, "after": now})
    }
}

/// The columns that differ between `before` and `after`, with both values.
pub fn diff(before: &impl Columns, after: &impl Columns) -> Vec<(&'static str, Arg, Arg)> {
    before
        .columns()
        .into_iter()
        .zip(after.columns())
        .filter(|((_, b), (_, a))| a != b)
        .map(|((name, b), (_, a))| (name, b, a))
        .collect()
}

impl Change {
    /// One row by `sql` (whose `$1` is `id`), as this change sees it.
    pub async fn fetch<T>(&mut self, sql: &str, id: i64) -> AppResult<Option<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        Ok(
            sqlx::query_as::<sqlx::Any, T>(sqlx::AssertSqlSafe(sql.to_string()))
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    /// Writes the columns of `after` that differ from `before` (read inside this change) to row
    /// `id` of `table`, and records `update` on `entity` with those columns' before and after.
    /// Returns whether anything changed; an update that changes nothing writes nothing.
    pub async fn update<C: Columns>(
        &mut self,
        entity: &str,
        table: &str,
        id: i64,
        before: &C,
        after: &C,
    ) -> AppResult<bool> {
        let changed = diff(before, after);
        if changed.is_empty() {
            return Ok(false);
        }
        let mut sql = Sql::new(&format!("UPDATE {table} SET "));
        let (mut was, mut now) = (serde_json::Map::new(), serde_json::Map::new());
        for (i, (column, b, a)) in changed.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{column} = ")).bind(a.clone());
            was.insert(column.into(), before.shown(column, &b));
            now.insert(column.into(), after.shown(column, &a));
        }
        sql.push(" WHERE id = ").bind(id);
        sql.query().execute(&mut *self.tx).await?;
        self.record(entity, id, "update", &C::summary(before, after, was, now))
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, Option<i64>);
    impl Columns for Row {
        fn columns(&self) -> Vec<(&'static str, Arg)> {
            vec![("name", self.0.into()), ("region_id", self.1.into())]
        }
    }

    #[test]
    fn only_the_columns_that_differ_are_written() {
        let d = diff(&Row("a", Some(1)), &Row("b", Some(1)));
        assert_eq!(d, vec![("name", Arg::from("a"), Arg::from("b"))]);
        assert!(diff(&Row("a", None), &Row("a", None)).is_empty());
        assert_eq!(diff(&Row("a", None), &Row("a", Some(2))).len(), 1);
    }
}
