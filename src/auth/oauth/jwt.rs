//! Access tokens: JWTs signed with Ed25519 (`alg: EdDSA`, header `typ: at+jwt`, RFC 9068).
//! Keys are generated with ring and kept in the database; the [`Keyset`] signs with the newest
//! and verifies with any key still within a token lifetime of its retirement (the JWKS lists the
//! same keys). Verification is CPU-only: signature, `typ`, `iss`, `aud`, `exp` against the
//! caller's clock; `alg: none` and any algorithm but EdDSA are refused before a key is chosen.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::oauth_tokens::SigningKeyRow;

/// Lifetime of an access token.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// The JOSE `typ` of an OAuth access token (RFC 9068).
pub const TYP: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The refresh family (grant) the token belongs to; revoking it revokes the token.
    pub sid: String,
}

/// Why a token was refused (logged at debug; the client only sees 401).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token or header")]
    Malformed,
    #[error("algorithm is not EdDSA")]
    Algorithm,
    #[error("typ is not at+jwt")]
    Typ,
    #[error("unknown key id")]
    UnknownKey,
    #[error("invalid signature or claims: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
}

/// One key: its id, the private half (only for the current key) and the public half.
struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: Vec<u8>,
    retired_at: Option<i64>,
}

/// The signing keys in force, newest first.
pub struct Keyset {
    keys: Vec<Key>,
}

/// A new Ed25519 key, as the store keeps it.
pub fn generate_key(now_ms: i64) -> Result<SigningKeyRow, String> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "cannot generate an Ed25519 key")?;
    let pair =
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "generated key is invalid")?;
    let public = pair.public_key().as_ref().to_vec();
    Ok(SigningKeyRow {
        kid: format!("k{}", &crate::auth::oauth::secrets::random_token()[..16]),
        pkcs8: pkcs8.as_ref().to_vec(),
        public_key: public,
        created_at: now_ms,
        retired_at: None,
    })
}

impl Keyset {
    /// Keys from the store (newest first), dropping those retired longer ago than a token lives.
    pub fn from_rows(rows: &[SigningKeyRow], now_ms: i64) -> Keyset {
        let keys = rows
            .iter()
            .filter(|r| {
                r.retired_at
                    .is_none_or(|t| t + ACCESS_TTL_SECS * 1000 + 60_000 > now_ms)
            })
            .map(|r| Key {
                kid: r.kid.clone(),
                encoding: EncodingKey::from_ed_der(&r.pkcs8),
                decoding: DecodingKey::from_ed_der(&r.public_key),
                public: r.public_key.clone(),
                retired_at: r.retired_at,
            })
            .collect();
        Keyset { keys }
    }

    /// Whether there is a key to sign with.
    pub fn can_sign(&self) -> bool {
        self.keys.first().is_some_and(|k| k.retired_at.is_none())
    }

    /// Sign `claims` with the newest key.
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let key = self.keys.first().ok_or("no signing key")?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| e.to_string())
    }

    /// Verify an access token for `issuer` and `audience` at `now_ms`.
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now_ms: i64,
    ) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(JwtError::Algorithm);
        }
        if header.typ.as_deref() != Some(TYP) {
            return Err(JwtError::Typ);
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(JwtError::UnknownKey)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.validate_exp = false; // checked below against the caller's clock
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.set_issuer(&[issuer]);
        v.set_audience(&[audience]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v)
            .map_err(|e| JwtError::Invalid(e.to_string()))?;
        if data.claims.exp * 1000 <= now_ms {
            return Err(JwtError::Expired);
        }
        Ok(data.claims)
    }

    /// The public keys as a JWK Set (RFC 7517, OKP/Ed25519).
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": k.kid, "x": URL_SAFE_NO_PAD.encode(&k.public),
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://jean.example";

    fn claims(now_s: i64) -> Claims {
        Claims {
            iss: ISS.into(),
            sub: "user-1".into(),
            aud: ISS.into(),
            exp: now_s + ACCESS_TTL_SECS,
            iat: now_s,
            jti: "j1".into(),
            client_id: "app_1".into(),
            scope: "read write".into(),
            sid: "fam".into(),
        }
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn signed_tokens_verify_and_every_tampering_is_refused() {
        let now = 1_800_000_000_000i64;
        let ks = Keyset::from_rows(&[generate_key(now).unwrap()], now);
        let c = claims(now / 1000);
        let token = ks.sign(&c).unwrap();
        assert_eq!(ks.verify(&token, ISS, ISS, now).unwrap(), c);

        let parts: Vec<&str> = token.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "at+jwt"})),
            parts[1]
        );
        let hs = format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]})),
            parts[1],
            parts[2]
        );
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[0] ^= 1;
        let tampered_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
        let mut other = c.clone();
        other.sub = "user-2".into();
        let tampered_body = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_value(&other).unwrap()),
            parts[2]
        );
        let jwt_typ = {
            let mut h = header.clone();
            h["typ"] = json!("JWT");
            format!("{}.{}.{}", b64(&h), parts[1], parts[2])
        };
        let cases: [(&str, &str, &str, i64); 7] = [
            ("alg none", &none, ISS, now),
            ("algorithm confusion HS256", &hs, ISS, now),
            ("tampered signature", &tampered_sig, ISS, now),
            ("tampered claims", &tampered_body, ISS, now),
            ("typ JWT instead of at+jwt", &jwt_typ, ISS, now),
            ("wrong audience", &token, "https://other.example", now),
            ("expired", &token, ISS, now + ACCESS_TTL_SECS * 1000),
        ];
        for (label, t, aud, at) in cases {
            assert!(
                ks.verify(t, ISS, aud, at).is_err(),
                "{label} must be refused"
            );
        }
        let other_keys = Keyset::from_rows(&[generate_key(now).unwrap()], now);
        assert_eq!(
            other_keys.verify(&token, ISS, ISS, now),
            Err(JwtError::UnknownKey)
        );
    }

    #[test]
    fn jwks_lists_current_and_recently_retired_keys_only() {
        let now = 1_800_000_000_000i64;
        let mut old = generate_key(now - 10_000_000).unwrap();
        old.retired_at = Some(now - 60_000);
        let mut ancient = generate_key(now - 20_000_000).unwrap();
        ancient.retired_at = Some(now - 10_000_000);
        let current = generate_key(now).unwrap();
        let ks = Keyset::from_rows(&[current.clone(), old.clone(), ancient], now);
        let kids: Vec<String> = ks.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, vec![current.kid, old.kid]);
        assert!(ks.can_sign());
    }
}
