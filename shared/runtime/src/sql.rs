//! Plain SQL written once for both engines: `?` placeholders, numbered (`$1`, `$2`, …) for
//! PostgreSQL. Statements handed to it must not contain a literal `?`.

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// `sql` in the connection's placeholder dialect.
pub fn dialect(db: &impl ConnectionTrait, sql: &str) -> String {
    match db.get_database_backend() {
        DbBackend::Postgres => numbered(sql),
        _ => sql.to_string(),
    }
}

/// A statement from `?` SQL in the connection's dialect: one value per `?`, in order (a value
/// used twice is bound twice). Every context's store writes its statements through this.
pub fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    crate::db::stmt(db, &dialect(db, sql), values)
}

fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        assert_eq!(
            numbered("UPDATE t SET a = ? WHERE b = ? AND c IN (?, ?)"),
            "UPDATE t SET a = $1 WHERE b = $2 AND c IN ($3, $4)"
        );
    }
}
