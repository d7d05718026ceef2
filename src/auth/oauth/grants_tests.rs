//! Unit tests of the token grants' pure decisions.

use super::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn code(now: i64) -> CodeRow {
    CodeRow {
        app_id: "app_1".into(),
        user_id: "u1".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: CHALLENGE.into(),
        scope: "read".into(),
        expires_at: now + CODE_TTL_MS,
        used_at: None,
        family_id: None,
    }
}

#[test]
fn a_code_is_bound_to_client_redirect_uri_challenge_and_time() {
    let now = 1_000_000;
    let c = code(now);
    let cb = Some("https://app.example/cb");
    assert_eq!(check_code(&c, "app_1", cb, Some(VERIFIER), now), Ok(()));
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        i64,
        &'a str,
    );
    let cases: [Case; 6] = [
        (
            "expired",
            "app_1",
            cb,
            Some(VERIFIER),
            now + CODE_TTL_MS,
            "invalid_grant",
        ),
        (
            "other client",
            "app_2",
            cb,
            Some(VERIFIER),
            now,
            "invalid_grant",
        ),
        (
            "other redirect",
            "app_1",
            Some("https://app.example/x"),
            Some(VERIFIER),
            now,
            "invalid_grant",
        ),
        (
            "no redirect",
            "app_1",
            None,
            Some(VERIFIER),
            now,
            "invalid_request",
        ),
        (
            "wrong verifier",
            "app_1",
            cb,
            Some(&CHALLENGE[..43]),
            now,
            "invalid_grant",
        ),
        ("no verifier", "app_1", cb, None, now, "invalid_request"),
    ];
    for (label, client, uri, v, at, want) in cases {
        let err = check_code(&c, client, uri, v, at).unwrap_err();
        assert_eq!(err.code(), want, "{label}");
    }
}

#[test]
fn refresh_rotates_once_leaves_a_twin_to_the_first_answer_and_revokes_on_replay() {
    let now = 10_000_000;
    let fam = Family {
        id: "f".into(),
        app_id: "app_1".into(),
        user_id: "u".into(),
        scope: "read".into(),
        created_at: now,
        expires_at: now + FAMILY_LIFETIME_MS,
        revoked_at: None,
    };
    let fresh = RefreshRow {
        family_id: "f".into(),
        created_at: now,
        used_at: Some(now),
    };
    assert_eq!(
        check_refresh(&fresh, true, &fam, "app_1", now),
        RefreshDecision::Rotate
    );
    assert_eq!(
        check_refresh(&fresh, false, &fam, "app_1", now + 1_000),
        RefreshDecision::Twin,
        "a twin is answered from memory, never rotated again"
    );
    assert_eq!(
        check_refresh(&fresh, false, &fam, "app_1", now + REFRESH_GRACE_MS + 1),
        RefreshDecision::RevokeFamily
    );
    assert!(matches!(
        check_refresh(&fresh, true, &fam, "app_2", now),
        RefreshDecision::Refuse(_)
    ));
    let old = now + FAMILY_LIFETIME_MS;
    assert!(matches!(
        check_refresh(&fresh, true, &fam, "app_1", old),
        RefreshDecision::Refuse(_)
    ));
    let revoked = Family {
        revoked_at: Some(now),
        ..fam
    };
    assert!(matches!(
        check_refresh(&fresh, true, &revoked, "app_1", now),
        RefreshDecision::Refuse(_)
    ));
}

#[test]
fn scopes_narrow_to_a_subset_of_the_allowed() {
    let allowed = vec!["read".to_owned(), "write".to_owned()];
    assert_eq!(narrow_scope(None, &allowed).unwrap(), allowed);
    assert_eq!(narrow_scope(Some("write read"), &allowed).unwrap(), allowed);
    assert_eq!(narrow_scope(Some("read"), &allowed).unwrap(), vec!["read"]);
    assert!(
        narrow_scope(Some("read admin"), &allowed)
            .unwrap_err()
            .contains("admin")
    );
}
