"""Interop check: a standard OAuth client library (Authlib), given only the issuer URL,
discovers the endpoints (RFC 8414) and completes both flows against a running jean2:
the public PKCE flow and the confidential flow with client_secret_basic and client_secret_post,
then refreshes, calls the API and verifies the access token against the published JWKS.

Usage: oauth_interop.py ISSUER EMAIL PASSWORD PUBLIC_CLIENT_ID CONF_CLIENT_ID CONF_SECRET
"""

import html
import re
import sys
import warnings
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # authlib.jose is deprecated in favour of joserfc; still works
    from authlib.jose import JsonWebKey, jwt

REDIRECT = "http://127.0.0.1:53682/callback"  # loopback: any port is accepted (RFC 8252)


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    assert m, "no %s field in %s" % (name, page[:500])
    return html.unescape(m.group(1))


def fields(page):
    return {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def browser_sign_in(issuer, url, email, password):
    """Play the person: open the authorization URL, sign in, allow; return the redirect URL."""
    b = requests.Session()
    r = b.get(url, allow_redirects=False)
    if r.status_code == 200 and 'action="/oauth/login"' in r.text:
        form = fields(r.text)
        form.update(email=email, password=password)
        r = b.post(urljoin(issuer, "/oauth/login"), data=form, allow_redirects=False)
        assert r.status_code == 303, (r.status_code, r.text[:300])
        r = b.get(urljoin(issuer, r.headers["Location"]), allow_redirects=False)
    if r.status_code == 200 and 'action="/oauth/consent"' in r.text:
        form = fields(r.text)
        form["decision"] = "allow"
        r = b.post(urljoin(issuer, "/oauth/consent"), data=form, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return r.headers["Location"]


def run_flow(label, meta, jwks, issuer, email, password, **client_args):
    client = OAuth2Session(redirect_uri=REDIRECT, scope="read write", code_challenge_method="S256", **client_args)
    verifier = generate_token(64)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    back = browser_sign_in(issuer, url, email, password)
    assert "iss=" in back, "RFC 9207 iss parameter"
    token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer"
    claims = jwt.decode(token["access_token"], jwks)
    claims.validate()
    assert claims["iss"] == meta["issuer"] and claims["aud"] == meta["issuer"], claims
    me = client.get(urljoin(issuer, "/api/v1/user/me"))
    assert me.status_code == 200 and me.json()["email"] == email, (me.status_code, me.text)
    old = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old)
    assert new["refresh_token"] != old, "refresh tokens rotate"
    assert client.get(urljoin(issuer, "/api/v1/user/me")).status_code == 200
    print("ok  %-34s sub=%s scope=%s" % (label, claims["sub"], token["scope"]))


def main():
    issuer, email, password, public_id, conf_id, conf_secret = sys.argv[1:7]
    meta = requests.get(urljoin(issuer, "/.well-known/oauth-authorization-server")).json()
    assert meta["issuer"] == issuer.rstrip("/"), meta
    assert meta["code_challenge_methods_supported"] == ["S256"], meta
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    print("ok  discovery                          issuer=%s" % meta["issuer"])
    run_flow("public client, PKCE", meta, jwks, issuer, email, password,
             client_id=public_id, token_endpoint_auth_method="none")
    for method in ("client_secret_basic", "client_secret_post"):
        run_flow("confidential, " + method, meta, jwks, issuer, email, password,
                 client_id=conf_id, client_secret=conf_secret, token_endpoint_auth_method=method)
    print("all flows completed")


if __name__ == "__main__":
    main()
