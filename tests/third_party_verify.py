"""Verifies an issued token as a third party would, with libraries nobody here wrote.

Usage: third_party_verify.py ISSUER AUDIENCE TOKEN

- The discovery document at ISSUER/.well-known/openid-configuration is read and validated with
  Authlib: fully as RFC 8414 authorization server metadata, and as OpenID Connect Discovery
  metadata except for two rules about what this issuer does not do: an `authorization_endpoint`
  (its tokens come from the token endpoint's password and refresh grants alone), and RS256
  among the ID token algorithms (it issues no ID tokens; the field names ES256, the algorithm
  of its access tokens).
- The token is verified with PyJWT's PyJWKClient against the document's `jwks_uri`: the
  signing key found by the token's `kid`, ES256 only, with the issuer and audience required.

Prints one JSON line: the verified claims' `sub`, the key's `kid`, and the metadata's issuer.
The loopback gateway speaks plain HTTP: AUTHLIB_INSECURE_TRANSPORT allows it for the checks
that ask for https.
"""

import json
import os
import sys
import urllib.request

import jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

# OpenID Connect rules for providers of ID tokens through an authorization endpoint.
NOT_AN_OPENID_PROVIDER = {
    "validate_authorization_endpoint",
    "validate_id_token_signing_alg_values_supported",
}


def main():
    issuer, audience, token = sys.argv[1:4]
    url = get_well_known_url(issuer, external=True)
    with urllib.request.urlopen(url, timeout=10) as response:
        document = json.load(response)

    AuthorizationServerMetadata(document).validate()
    oidc = OpenIDProviderMetadata(document)
    for name in dir(oidc):
        if name.startswith("validate_") and name not in NOT_AN_OPENID_PROVIDER:
            getattr(oidc, name)()
    if document["issuer"] != issuer:
        raise SystemExit(f"the document's issuer {document['issuer']!r} is not {issuer!r}")

    client = jwt.PyJWKClient(document["jwks_uri"], cache_keys=True)
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    print(json.dumps({"sub": claims["sub"], "kid": key.key_id, "issuer": document["issuer"]}))


if __name__ == "__main__":
    main()
