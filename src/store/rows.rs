//! Reading rows: run a cached SQLite statement for one row or all rows, and borrow column
//! values (text, numbers, JSON stored as text) without copying them where the caller only
//! serializes. The column readers work on the rows of either backend ([`Cols`]), so the wire
//! shapes are decoded by one function per type.

use rusqlite::types::ValueRef;
use rusqlite::{Params, Row, Statement};
use serde_json::value::RawValue;
use tokio_postgres::types::Type;

use super::error::{BackendError, Fail, StoreError};

/// The first row of `st` decoded by `f`, or `None`.
pub(crate) fn one<'s, T>(
    st: &'s mut Statement<'_>,
    params: impl Params,
    f: impl FnOnce(&Row<'s>) -> Result<T, Fail>,
) -> Result<Option<T>, Fail> {
    let mut rows = st.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

/// Every row of `st`, decoded by `f`.
pub(crate) fn all<'s, T>(
    st: &'s mut Statement<'_>,
    params: impl Params,
    mut f: impl FnMut(&Row<'s>) -> Result<T, Fail>,
) -> Result<Vec<T>, Fail> {
    let mut rows = st.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

fn bad_type(column: usize, what: &str) -> Fail {
    Fail::Store(StoreError::Db(BackendError::msg(format!(
        "column {column} is not {what}"
    ))))
}

/// A row of either backend, read column by column (by position).
pub(crate) trait Cols {
    /// A text column borrowed from the row; `None` for NULL.
    fn text(&self, i: usize) -> Result<Option<&str>, Fail>;
    /// An integer column; `None` for NULL.
    fn integer(&self, i: usize) -> Result<Option<i64>, Fail>;
    /// A floating-point column; `None` for NULL.
    fn real(&self, i: usize) -> Result<Option<f64>, Fail>;
    /// A boolean column (an integer in SQLite); `None` for NULL.
    fn boolean(&self, i: usize) -> Result<Option<bool>, Fail>;
    /// A binary column; `None` for NULL.
    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, Fail>;
}

impl Cols for Row<'_> {
    fn text(&self, i: usize) -> Result<Option<&str>, Fail> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(Some)
                .map_err(|_| bad_type(i, "UTF-8 text")),
            _ => Err(bad_type(i, "text")),
        }
    }

    fn integer(&self, i: usize) -> Result<Option<i64>, Fail> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            // Upstream's columns are loosely typed; a REAL count is truncated, not refused.
            ValueRef::Real(f) => Ok(Some(f as i64)),
            _ => Err(bad_type(i, "an integer")),
        }
    }

    fn real(&self, i: usize) -> Result<Option<f64>, Fail> {
        Ok(self.get::<_, Option<f64>>(i)?)
    }

    fn boolean(&self, i: usize) -> Result<Option<bool>, Fail> {
        Ok(self.integer(i)?.map(|n| n != 0))
    }

    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, Fail> {
        Ok(self.get::<_, Option<Vec<u8>>>(i)?)
    }
}

impl Cols for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<Option<&str>, Fail> {
        Ok(self.try_get::<_, Option<&str>>(i)?)
    }

    fn integer(&self, i: usize) -> Result<Option<i64>, Fail> {
        let ty = self.columns().get(i).map(|c| c.type_().clone());
        Ok(match ty {
            Some(Type::INT2) => self.try_get::<_, Option<i16>>(i)?.map(i64::from),
            Some(Type::INT4) => self.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Some(Type::FLOAT8) => self.try_get::<_, Option<f64>>(i)?.map(|f| f as i64),
            Some(Type::BOOL) => self.try_get::<_, Option<bool>>(i)?.map(i64::from),
            _ => self.try_get::<_, Option<i64>>(i)?,
        })
    }

    fn real(&self, i: usize) -> Result<Option<f64>, Fail> {
        Ok(self.try_get::<_, Option<f64>>(i)?)
    }

    fn boolean(&self, i: usize) -> Result<Option<bool>, Fail> {
        match self.columns().get(i).map(|c| c.type_()) {
            Some(&Type::BOOL) => Ok(self.try_get::<_, Option<bool>>(i)?),
            _ => Ok(self.integer(i)?.map(|n| n != 0)),
        }
    }

    fn blob(&self, i: usize) -> Result<Option<Vec<u8>>, Fail> {
        Ok(self.try_get::<_, Option<Vec<u8>>>(i)?)
    }
}

/// A text column borrowed from the row; `None` for NULL.
pub(crate) fn opt_str<R: Cols + ?Sized>(row: &R, i: usize) -> Result<Option<&str>, Fail> {
    row.text(i)
}

/// A text column that must not be NULL.
pub(crate) fn str<R: Cols + ?Sized>(row: &R, i: usize) -> Result<&str, Fail> {
    opt_str(row, i)?.ok_or_else(|| bad_type(i, "set"))
}

/// An integer column; NULL reads as 0.
pub(crate) fn int<R: Cols + ?Sized>(row: &R, i: usize) -> Result<i64, Fail> {
    Ok(row.integer(i)?.unwrap_or(0))
}

/// An integer column that may be NULL.
pub(crate) fn opt_int<R: Cols + ?Sized>(row: &R, i: usize) -> Result<Option<i64>, Fail> {
    row.integer(i)
}

/// A boolean (an integer in SQLite); NULL reads as false.
pub(crate) fn flag<R: Cols + ?Sized>(row: &R, i: usize) -> Result<bool, Fail> {
    Ok(row.boolean(i)?.unwrap_or(false))
}

/// A binary column that must not be NULL.
pub(crate) fn blob<R: Cols + ?Sized>(row: &R, i: usize) -> Result<Vec<u8>, Fail> {
    row.blob(i)?.ok_or_else(|| bad_type(i, "set"))
}

/// JSON stored as text, borrowed and checked (no allocation); `empty` stands for NULL and `''`.
pub(crate) fn raw_json<'r, R: Cols + ?Sized>(
    row: &'r R,
    i: usize,
    column: &'static str,
    empty: &'static str,
) -> Result<&'r RawValue, Fail> {
    let text = match opt_str(row, i)? {
        None | Some("") => empty,
        Some(t) => t,
    };
    serde_json::from_str(text).map_err(|source| Fail::Store(StoreError::BadJson { column, source }))
}

/// Like [`raw_json`] for a nullable object column: NULL, `''` and `null` are `None`.
pub(crate) fn opt_raw_json<'r, R: Cols + ?Sized>(
    row: &'r R,
    i: usize,
    column: &'static str,
) -> Result<Option<&'r RawValue>, Fail> {
    match opt_str(row, i)? {
        None | Some("" | "null") => Ok(None),
        Some(t) => serde_json::from_str(t)
            .map(Some)
            .map_err(|source| Fail::Store(StoreError::BadJson { column, source })),
    }
}

/// Parse a JSON column into an owned value, naming the column in the error.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::BadJson { column, source })
}
