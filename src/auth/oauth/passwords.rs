//! Passwords: argon2id hashes (PHC strings), computed and checked under `spawn_blocking` so a
//! sign-in never stalls the runtime. An unknown account is checked against a dummy hash, so the
//! answer time does not reveal which emails exist. At most one hash per core runs at a time
//! (each takes ~19 MiB and a core for a while): a flood of sign-ins waits its turn instead of
//! costing unbounded CPU and memory.

use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a new password is refused (the message says how to fix it).
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password").unwrap_or_default())
}

/// The permits for hashing: one per core.
fn hashing() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(max_concurrent_hashes()))
}

/// How many argon2 hashes may run at once: the number of cores.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Wait for a hashing permit (the semaphore is never closed).
async fn permit() -> Option<SemaphorePermit<'static>> {
    hashing().acquire().await.ok()
}

/// argon2id hash of `password`, computed off the runtime.
pub async fn hash_password(password: String) -> Result<String, String> {
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| format!("password hashing task failed: {e}"))?
}

/// Whether `password` matches `phc`. With `None` (no such user, or no password) the work is
/// done anyway against a dummy hash, and the answer is `false`.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || match phc {
        Some(h) => verify_blocking(&password, &h),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
        assert!(check_new_password("short").is_err());
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let n = max_concurrent_hashes();
        let all = hashing().acquire_many(n as u32).await.unwrap();
        // Every permit is taken: a check cannot even start (polled once, it is pending).
        let waiting = tokio::time::timeout(
            std::time::Duration::ZERO,
            verify_password("pw".into(), None),
        )
        .await;
        assert!(waiting.is_err(), "a hash ran without a permit");
        drop(all);
        assert!(!verify_password("pw".into(), None).await);
    }
}
