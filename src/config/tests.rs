//! Unit tests of settings loading: precedence, validation messages, secrets.

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(
    file: &[(&str, &str)],
    env: &[(&str, &str)],
    cli: CliOverrides,
) -> Result<Settings, ConfigError> {
    Settings::from_sources("/d".into(), &map(file), &map(env), &cli).map(|(s, _)| s)
}

#[test]
fn defaults_are_loopback_8742_without_auth() {
    let s = load(&[], &[], CliOverrides::default()).unwrap();
    assert_eq!(s.host, "127.0.0.1");
    assert_eq!(s.port, 8742);
    assert!(s.auth_token.is_none());
    assert_eq!(s.database_path, PathBuf::from("/d/data/agent.db"));
}

#[test]
fn environment_wins_over_file_and_cli_wins_over_both() {
    let s = load(
        &[("JEAN2_PORT", "1000"), ("JEAN2_AUTH_TOKEN", "file")],
        &[("JEAN2_PORT", "2000")],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.port, 2000);
    assert_eq!(s.auth_token.unwrap().expose(), "file");
    let s = load(
        &[("JEAN2_PORT", "1000")],
        &[("JEAN2_PORT", "2000")],
        CliOverrides {
            port: Some(3000),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.port, 3000);
}

#[test]
fn bad_port_names_variable_and_value() {
    for bad in ["abc", "70000", "-1"] {
        let err = load(&[("JEAN2_PORT", bad)], &[], CliOverrides::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("JEAN2_PORT") && msg.contains(bad),
            "{bad}: {msg}"
        );
    }
}

#[test]
fn tls_without_files_is_an_error_naming_the_variable() {
    let err = load(
        &[("JEAN2_TLS_ENABLED", "true")],
        &[],
        CliOverrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("JEAN2_TLS_CERT_FILE"), "{err}");
}

#[test]
fn public_bind_without_token_is_refused_unless_opted_in() {
    let err = load(&[("JEAN2_HOST", "0.0.0.0")], &[], CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("JEAN2_AUTH_TOKEN"), "{err}");
    assert!(
        load(
            &[("JEAN2_HOST", "0.0.0.0"), ("JEAN2_ALLOW_NO_AUTH", "true")],
            &[],
            CliOverrides::default()
        )
        .is_ok()
    );
    assert!(
        load(
            &[("JEAN2_HOST", "0.0.0.0"), ("JEAN2_AUTH_TOKEN", "t")],
            &[],
            CliOverrides::default()
        )
        .is_ok()
    );
}

#[test]
fn unknown_jean2_variables_in_file_are_warned_about() {
    let (_, report) = Settings::from_sources(
        "/d".into(),
        &map(&[("JEAN2_AUTH_TOKNE", "x"), ("JEAN2_LLM_OPENAI_API_KEY", "k")]),
        &BTreeMap::new(),
        &CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("JEAN2_AUTH_TOKNE"));
}

#[test]
fn llm_keys_are_collected_per_provider() {
    let s = load(
        &[("JEAN2_LLM_OPENAI_API_KEY", "a")],
        &[("JEAN2_LLM_DEEPSEEK_API_KEY", "b")],
        CliOverrides::default(),
    )
    .unwrap();
    let keys: Vec<_> = s.llm.api_keys.keys().cloned().collect();
    assert_eq!(keys, vec!["deepseek", "openai"]);
}

#[test]
fn oauth_over_plain_http_on_a_public_bind_is_refused() {
    let public = [
        ("JEAN2_HOST", "0.0.0.0"),
        ("JEAN2_AUTH_TOKEN", "t"),
        ("JEAN2_OAUTH_ENABLED", "true"),
    ];
    let err = load(&public, &[], CliOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("JEAN2_PUBLIC_URL") && err.contains("JEAN2_TLS_ENABLED"),
        "{err}"
    );
    let mut behind_proxy = public.to_vec();
    behind_proxy.push(("JEAN2_PUBLIC_URL", "https://jean.example"));
    let s = load(&behind_proxy, &[], CliOverrides::default()).unwrap();
    assert_eq!(s.issuer(8742), "https://jean.example");
    let loopback = [("JEAN2_OAUTH_ENABLED", "true")];
    let s = load(&loopback, &[], CliOverrides::default()).unwrap();
    assert_eq!(s.issuer(9000), "http://127.0.0.1:9000");
}

#[test]
fn secret_debug_and_mask_hide_the_value() {
    let s = Secret::new("s3cret-token-0123456789");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(s.masked(), "s3…89 (23 chars)");
    assert!(!Secret::new("short").masked().contains("sho"));
    // Whatever the length, at most 4 characters of the token show.
    for n in 0..80 {
        let token: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let masked = Secret::new(token).masked();
        let preview = masked.split(" (").next().unwrap();
        let shown = preview.chars().filter(char::is_ascii_lowercase).count();
        assert!(shown <= 4, "{n} chars: {masked}");
    }
}

#[test]
fn a_token_shorter_than_16_characters_is_warned_about() {
    let warned = |token: &str| {
        let (_, report) = Settings::from_sources(
            "/d".into(),
            &map(&[("JEAN2_AUTH_TOKEN", token)]),
            &map(&[]),
            &CliOverrides::default(),
        )
        .unwrap();
        report
            .warnings
            .iter()
            .any(|w| w.contains("JEAN2_AUTH_TOKEN") && w.contains("16"))
    };
    assert!(warned("short-token"));
    assert!(!warned("a-token-of-16-ch"));
}

#[test]
fn every_number_is_bounded_and_the_error_names_the_range() {
    for (var, bad) in [
        ("JEAN2_AUTH_FAILURE_WINDOW_SECS", "18446744073709551615"),
        ("JEAN2_AUTH_FAILURE_WINDOW_SECS", "0"),
        ("JEAN2_AUTH_MAX_FAILURES", "4294967295"),
        ("JEAN2_MAX_CONNECTIONS", "99999999"),
        ("JEAN2_LLM_IDLE_TIMEOUT_SECS", "100000"),
        ("JEAN2_LLM_MAX_RETRIES", "1000"),
        ("JEAN2_LLM_MAX_TOKENS", "0"),
    ] {
        let err = load(&[(var, bad)], &[], CliOverrides::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(var) && msg.contains(bad) && msg.contains(" to "),
            "{var}={bad}: {msg}"
        );
    }
    let s = load(
        &[("JEAN2_AUTH_FAILURE_WINDOW_SECS", "86400")],
        &[],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.auth_failure_window, Duration::from_secs(86_400));
}

#[test]
fn trusted_proxies_are_addresses_or_networks_and_a_bad_entry_is_named() {
    let s = load(
        &[("JEAN2_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")],
        &[],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.trusted_proxies.len(), 3);
    assert!(
        load(&[], &[], CliOverrides::default())
            .unwrap()
            .trusted_proxies
            .is_empty()
    );
    for bad in ["proxy.local", "10.0.0.0/33"] {
        let msg = load(
            &[("JEAN2_TRUSTED_PROXIES", &format!("127.0.0.1,{bad}"))],
            &[],
            CliOverrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("JEAN2_TRUSTED_PROXIES") && msg.contains(bad),
            "{msg}"
        );
    }
}

#[test]
fn a_bad_port_in_env_is_an_error_even_when_a_flag_overrides_it() {
    let cli = CliOverrides {
        port: Some(9000),
        ..Default::default()
    };
    let err = load(&[("JEAN2_PORT", "eighty")], &[], cli.clone()).unwrap_err();
    assert!(err.to_string().contains("JEAN2_PORT"), "{err}");
    assert_eq!(load(&[("JEAN2_PORT", "80")], &[], cli).unwrap().port, 9000);
}
