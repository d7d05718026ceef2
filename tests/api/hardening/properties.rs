//! Item 18: property tests of every parser that reads what a stranger or a provider sends. None
//! may panic, whatever the input; where a parser has an inverse or a split-invariance, that holds
//! too. They run in the normal suite with proptest's default 256 cases each (fast);
//! `scripts/fuzz.sh` runs them with many more (`PROPTEST_CASES`).

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, header};
use jean2::api::oauth::forms::{Params, client_credentials};
use jean2::auth::layer::{Presented, presented, query_token, subprotocol_token};
use jean2::auth::oauth::{authorize, pkce, secrets};
use jean2::auth::proxies::TrustedProxies;
use jean2::config::{CliOverrides, Settings, read_env_file};
use jean2::llm::sse::SseDecoder;
use proptest::prelude::*;

/// Header values as a client could send them: any visible ASCII, spaces and tabs, and some
/// bytes above 0x7f.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop::collection::vec(
        prop_oneof![0x20u8..0x7f, Just(b'\t'), 0x80u8..=0xff],
        0..100,
    )
    .prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
}

/// Text biased towards the characters these parsers care about.
fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("%".to_owned()),
            Just("&".to_owned()),
            Just("=".to_owned()),
            Just("+".to_owned()),
            Just(" ".to_owned()),
            Just("jean_sk_".to_owned()),
            Just("%5F".to_owned()),
            Just("\u{0}".to_owned()),
            Just("é".to_owned()),
            "[a-zA-Z0-9_.~-]{0,8}",
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn the_authorization_header_and_query_token_never_panic(
        auth in header_value(),
        protocol in header_value(),
        forwarded in header_value(),
        query in tricky_text(),
    ) {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth);
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        h.insert("x-forwarded-for", forwarded);
        let is_header = matches!(presented(&h, Some(&query)), Presented::Header(_));
        prop_assert!(is_header, "a present header decides alone");
        let _ = query_token(&query);
        let _ = subprotocol_token(&h);
        let proxies = TrustedProxies::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let _ = proxies.client_ip("127.0.0.1".parse().unwrap(), &h);
    }

    #[test]
    fn a_bearer_token_and_a_query_token_read_back_as_sent(token in "[!-~]{1,100}") {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        prop_assert_eq!(presented(&h, None), Presented::Header(Some(token.as_str())));
        let query = format!("a=1&token={}", crate::helpers::urlencode(&token));
        prop_assert_eq!(query_token(&query), Some(token.clone()));
    }

    #[test]
    fn a_websocket_frame_never_panics_the_decoder(text in "\\PC{0,300}") {
        let _ = jean2::ws::protocol::parse(&text);
    }

    #[test]
    fn a_websocket_frame_of_a_known_type_with_any_fields_never_panics(
        kind in prop::sample::select(vec![
            "pong", "client.register", "session.create", "session.resume", "session.rename",
            "session.update_model", "chat.message", "queue.add", "queue.remove",
            "session.interrupt", "session.fork", "nonsense",
        ]),
        fields in prop::collection::btree_map(
            "[a-zA-Z]{1,12}",
            prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                tricky_text().prop_map(serde_json::Value::from),
                Just(serde_json::json!({"client": {"type": "web"}})),
                Just(serde_json::json!([[[[]]]])),
            ],
            0..6,
        ),
        nesting in 0usize..300,
    ) {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), kind.into());
        for (k, v) in fields {
            body.insert(k, v);
        }
        let frame = serde_json::Value::Object(body).to_string();
        let _ = jean2::ws::protocol::parse(&frame);
        if let Some(client) = serde_json::from_str::<serde_json::Value>(&frame).ok()
            .and_then(|v| v.get("client").cloned())
        {
            let _ = jean2::ws::protocol::validate_descriptor(&client);
        }
        let deep = format!("{}{}", "[".repeat(nesting), "]".repeat(nesting));
        let _ = jean2::ws::protocol::parse(&format!("{{\"type\":\"chat.message\",\"content\":{deep}}}"));
    }

    #[test]
    fn oauth_forms_and_basic_credentials_never_panic(
        body in tricky_text(),
        basic in header_value(),
    ) {
        let params = Params::parse(&body).unwrap_or_default();
        let _ = params.authz();
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, basic.clone());
        let _ = client_credentials(&h, &params);
        let mut prefixed = b"Basic ".to_vec();
        prefixed.extend_from_slice(basic.as_bytes());
        h.insert(header::AUTHORIZATION, HeaderValue::from_bytes(&prefixed).unwrap());
        let _ = client_credentials(&h, &params);
        let _ = authorize::redirect_uri_registered(
            &["http://127.0.0.1/cb".to_owned(), "https://a.example/cb".to_owned()],
            &body,
        );
    }

    #[test]
    fn pkce_accepts_exactly_the_challenge_of_a_valid_verifier(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in "\\PC{0,140}",
    ) {
        let challenge = pkce::challenge_of(&verifier);
        prop_assert!(pkce::valid_challenge(&challenge));
        prop_assert!(pkce::verify_s256(&verifier, &challenge));
        prop_assert_eq!(pkce::verify_s256(&other, &challenge), other == verifier);
        let _ = pkce::valid_challenge(&other);
        let _ = pkce::verify_s256(&other, &other);
    }

    #[test]
    fn a_scrubbed_url_never_shows_an_api_key(text in tricky_text()) {
        let scrubbed = secrets::scrub_api_keys(&text);
        let decoded: String = url::form_urlencoded::parse(format!("x={scrubbed}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        prop_assert!(!scrubbed.to_ascii_lowercase().contains("jean_sk_"), "{}", scrubbed);
        prop_assert!(!decoded.to_ascii_lowercase().contains("jean_sk_"), "{}", decoded);
    }

    #[test]
    fn sse_events_do_not_depend_on_how_the_stream_is_split(
        stream in prop::collection::vec(
            prop_oneof![
                Just(b"data: ".to_vec()),
                Just(b"data:".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(b": keep-alive".to_vec()),
                Just(b"event: x".to_vec()),
                Just("é".as_bytes().to_vec()),
                prop::collection::vec(any::<u8>(), 0..8),
            ],
            0..60,
        ).prop_map(|parts| parts.concat()),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut whole = SseDecoder::new();
        let mut expected = whole.feed(&stream).unwrap();
        expected.extend(whole.finish());

        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.sort_unstable();
        let mut split = SseDecoder::new();
        let mut got = Vec::new();
        let mut from = 0;
        for cut in at.into_iter().chain([stream.len()]) {
            got.extend(split.feed(&stream[from..cut]).unwrap());
            from = cut;
        }
        got.extend(split.finish());
        prop_assert_eq!(&got, &expected);
        for data in &got {
            let _ = jean2::llm::chunk::parse_chunk(data);
        }
    }

    #[test]
    fn a_provider_retry_after_never_panics(value in header_value()) {
        for name in ["retry-after", "retry-after-ms"] {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(name, reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap());
            let wait = jean2::llm::error::parse_retry_after(&h);
            prop_assert!(wait.is_none_or(|d| d.as_secs() <= 86_400));
        }
    }
}

/// Known variable names, so generated `.env` files reach the value parsers.
const VARS: &[&str] = &[
    "JEAN2_HOST",
    "JEAN2_PORT",
    "JEAN2_AUTH_TOKEN",
    "JEAN2_ALLOW_NO_AUTH",
    "JEAN2_ALLOWED_ORIGINS",
    "JEAN2_AUTH_MAX_FAILURES",
    "JEAN2_AUTH_FAILURE_WINDOW_SECS",
    "JEAN2_TLS_ENABLED",
    "JEAN2_MAX_CONNECTIONS",
    "JEAN2_LLM_BASE_URL",
    "JEAN2_LLM_TEMPERATURE",
    "JEAN2_LLM_MAX_TOKENS",
    "JEAN2_LLM_IDLE_TIMEOUT_SECS",
    "JEAN2_LLM_MAX_RETRIES",
    "JEAN2_OAUTH_ENABLED",
    "JEAN2_PUBLIC_URL",
    "JEAN2_TRUSTED_PROXIES",
    "JEAN2_LLM_OPENAI_API_KEY",
];

proptest! {
    #![proptest_config(ProptestConfig {
        // Each case writes a file; a quarter of the default keeps the suite fast.
        cases: ProptestConfig::default().cases / 4,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_env_file_loads_or_fails_with_an_error_never_a_panic(
        lines in prop::collection::vec(
            (
                prop::sample::select(VARS),
                prop_oneof![
                    Just("=".to_owned()),
                    Just(" = ".to_owned()),
                    Just("=\"".to_owned()),
                    Just("='".to_owned()),
                ],
                prop_oneof![
                    tricky_text(),
                    "-?[0-9]{0,25}(\\.[0-9]{0,5})?(e[0-9]{1,3})?",
                    Just("inf".to_owned()),
                    Just("nan".to_owned()),
                    Just("${HOME}".to_owned()),
                    Just("\\".to_owned()),
                ],
            ),
            0..12,
        ),
        garbage in "\\PC{0,40}",
    ) {
        let mut text: String = lines
            .iter()
            .map(|(k, sep, v)| format!("{k}{sep}{v}\n"))
            .collect();
        text.push_str(&garbage);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, &text).unwrap();
        if let Ok(Some(file)) = read_env_file(&path) {
            let _ = Settings::from_sources(
                dir.path().to_owned(),
                &file,
                &BTreeMap::new(),
                &CliOverrides::default(),
            );
        }
    }
}
