//! `JEAN2_DATABASE_URL`: a `postgres://` URL, checked once when the settings load, that never
//! shows its password (in `Debug`, `Display`, errors or logs). `sslmode=require` turns on TLS
//! (rustls with ring), which always verifies the server's certificate, against the Mozilla
//! roots or the PEM file named by `sslrootcert=`: stricter than libpq's `require`. Without it,
//! or with `disable`/`prefer`, the connection is plain (for a database on this machine or a
//! private network).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A checked PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The URL as given, less `sslrootcert` (which tokio-postgres does not know).
    raw: String,
    /// The same with the password replaced by `***`.
    shown: String,
    tls: bool,
    root_cert: Option<PathBuf>,
}

impl DatabaseUrl {
    /// Check `value`: a `postgres://` or `postgresql://` URL that tokio-postgres accepts, with
    /// a database name. The error says what is wrong, without the password.
    pub fn parse(value: &str) -> Result<DatabaseUrl, String> {
        let mut url = url::Url::parse(value.trim()).map_err(|e| {
            format!("not a URL ({e}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "the scheme is {:?}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                url.scheme()
            ));
        }
        let mut tls = false;
        let mut root_cert = None;
        let mut kept: Vec<(String, String)> = Vec::new();
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("sslrootcert", path) => root_cert = Some(PathBuf::from(path)),
                ("sslmode", "require") => {
                    tls = true;
                    kept.push((k.into_owned(), v.into_owned()));
                }
                ("sslmode", "disable" | "prefer") => {
                    kept.push(("sslmode".into(), "disable".into()))
                }
                ("sslmode", other) => {
                    return Err(format!(
                        "sslmode={other} is not supported; use sslmode=require (TLS, the server \
                         certificate verified) or sslmode=disable"
                    ));
                }
                _ => kept.push((k.into_owned(), v.into_owned())),
            }
        }
        if !tls && !kept.iter().any(|(k, _)| k == "sslmode") {
            kept.push(("sslmode".into(), "disable".into()));
        }
        url.query_pairs_mut().clear().extend_pairs(kept);
        let raw = url.to_string();
        let config = tokio_postgres::Config::from_str(&raw).map_err(|e| e.to_string())?;
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err("the URL names no database (…/DATABASE at its end)".to_owned());
        }
        let mut shown = url;
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        Ok(DatabaseUrl {
            raw,
            shown: shown.to_string(),
            tls,
            root_cert,
        })
    }

    /// The connection settings.
    pub fn config(&self) -> Result<tokio_postgres::Config, String> {
        tokio_postgres::Config::from_str(&self.raw).map_err(|e| e.to_string())
    }

    /// Whether the connection uses TLS (`sslmode=require`).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The CA file given by `sslrootcert=`.
    pub fn root_cert(&self) -> Option<&std::path::Path> {
        self.root_cert.as_deref()
    }

    /// The URL with its password masked, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL as given (password included): for child processes and test harnesses only,
    /// never for a log.
    pub fn expose(&self) -> &str {
        &self.raw
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.shown).finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let u = DatabaseUrl::parse("postgres://jean:s3cret@db.example:5433/jean2").unwrap();
        assert!(!u.to_string().contains("s3cret"), "{u}");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(
            u.shown(),
            "postgres://jean:***@db.example:5433/jean2?sslmode=disable"
        );
        assert!(!u.tls());
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (value, says) in [
            ("mysql://u@h/db", "scheme"),
            ("not a url", "not a URL"),
            ("postgres://u@h:5432", "no database"),
            (
                "postgres://u@h/db?sslmode=verify-full",
                "sslmode=verify-full",
            ),
        ] {
            let e = DatabaseUrl::parse(value).unwrap_err();
            assert!(e.contains(says), "{value}: {e}");
        }
    }

    #[test]
    fn sslmode_require_turns_tls_on_and_sslrootcert_is_kept_aside() {
        let u = DatabaseUrl::parse("postgresql://u:p@h/db?sslmode=require&sslrootcert=/ca.pem")
            .unwrap();
        assert!(u.tls());
        assert_eq!(u.root_cert(), Some(std::path::Path::new("/ca.pem")));
        assert!(u.config().is_ok(), "tokio-postgres never sees sslrootcert");
    }
}
