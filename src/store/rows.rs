//! Reading rows: run a cached statement for one row or all rows, and borrow column values
//! (text, numbers, JSON stored as text) without copying them where the caller only serializes.

use rusqlite::types::ValueRef;
use rusqlite::{Params, Row, Statement};
use serde_json::value::RawValue;

use super::error::{BackendError, Fail, StoreError};

/// The first row of `st` decoded by `f`, or `None`.
pub(crate) fn one<T>(
    st: &mut Statement<'_>,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> Result<T, Fail>,
) -> Result<Option<T>, Fail> {
    let mut rows = st.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

/// Every row of `st`, decoded by `f`.
pub(crate) fn all<T>(
    st: &mut Statement<'_>,
    params: impl Params,
    mut f: impl FnMut(&Row<'_>) -> Result<T, Fail>,
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

/// A text column borrowed from the row; `None` for NULL.
pub(crate) fn opt_str<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, Fail> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Some)
            .map_err(|_| bad_type(i, "UTF-8 text")),
        _ => Err(bad_type(i, "text")),
    }
}

/// A text column that must not be NULL.
pub(crate) fn str<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, Fail> {
    opt_str(row, i)?.ok_or_else(|| bad_type(i, "set"))
}

/// An integer column; NULL reads as 0.
pub(crate) fn int(row: &Row<'_>, i: usize) -> Result<i64, Fail> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(0),
        ValueRef::Integer(n) => Ok(n),
        // Upstream's columns are loosely typed; a REAL count is truncated, not refused.
        ValueRef::Real(f) => Ok(f as i64),
        _ => Err(bad_type(i, "an integer")),
    }
}

/// A boolean stored as an integer; NULL reads as false.
pub(crate) fn flag(row: &Row<'_>, i: usize) -> Result<bool, Fail> {
    Ok(int(row, i)? != 0)
}

/// JSON stored as text, borrowed and checked (no allocation); `empty` stands for NULL and `''`.
pub(crate) fn raw_json<'r>(
    row: &'r Row<'_>,
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
pub(crate) fn opt_raw_json<'r>(
    row: &'r Row<'_>,
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
