"""The deployment contract of template.yaml, checked structurally (run by tests/template.rs).

cfn-lint and `sam validate --lint` check that the template is valid; this checks that it is the
template we mean: least privilege, no secret in the environment, every route but /token behind
the authorizer, the build and runtime the functions need.
"""
import json
import sys

from cfnlint.decode import cfn_yaml

t = cfn_yaml.load(sys.argv[1])
res = t["Resources"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def fn(name):
    return res[name]["Properties"], res[name].get("Metadata", {})


def statements(props):
    out = []
    for p in props.get("Policies", []):
        out += p.get("Statement", []) if isinstance(p, dict) else [p]
    return out


def actions(props):
    acts = set()
    for s in statements(props):
        a = s["Action"]
        acts |= set(a if isinstance(a, list) else [a])
    return acts


glob = t["Globals"]["Function"]
check(glob["Runtime"] == "provided.al2023", "runtime provided.al2023")
check(glob["Handler"] == "bootstrap", "handler bootstrap")
check(glob["Architectures"] == ["arm64"], "arm64")

for name, binary in [("CheckTokenFunction", "check-token"), ("AuthenticateFunction", "authenticate"), ("HelloFunction", "hello")]:
    props, meta = fn(name)
    check(meta.get("BuildMethod") == "rust-cargolambda", f"{name}: BuildMethod rust-cargolambda")
    check(meta.get("BuildProperties", {}).get("Binary") == binary, f"{name}: builds binary {binary}")
    env = props.get("Environment", {}).get("Variables", {})
    # Local-use key variables may be declared (so that sam local can set them), but only empty.
    for key in ("JWT_SECRET", "JWT_PREVIOUS_SECRET", "LOCKOUT_KEY"):
        check(env.get(key, "") == "" and key not in glob.get("Environment", {}).get("Variables", {}),
              f"{name}: no secret value in the environment ({key})")
    check("LogGroup" in props.get("LoggingConfig", {}), f"{name}: own log group")

# KmsKeyArn: with a customer-managed key, each function may decrypt with it, and only then.
kms = {"Fn::If": ["UseCmk", {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Ref": "KmsKeyArn"}}]},
                  {"Ref": "AWS::NoValue"}]}
for name in ("CheckTokenFunction", "AuthenticateFunction", "HelloFunction"):
    check(kms in fn(name)[0].get("Policies", []), f"{name}: kms:Decrypt on KmsKeyArn only when it is set")
for name in ("SigningKey", "LockoutKey", "RefreshKey"):
    check(res[name]["Properties"].get("KmsKeyId") == {"Fn::If": ["UseCmk", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
          f"{name}: the customer-managed key when KmsKeyArn is set")

ct, _ = fn("CheckTokenFunction")
check(actions(ct) == {"secretsmanager:GetSecretValue"}, f"check-token may only read the secret, has {actions(ct)}")
check(ct["Environment"]["Variables"].get("JWT_SECRET_ARN") == {"Ref": "SigningKey"}, "check-token gets the secret's ARN")
au, _ = fn("AuthenticateFunction")
by_resource = {}
for st in statements(au):
    acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    by_resource.setdefault(json.dumps(st["Resource"], sort_keys=True), set()).update(acts)
check(by_resource == {
    json.dumps({"Fn::GetAtt": ["UsersTable", "Arn"]}): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    json.dumps({"Fn::GetAtt": ["AttemptsTable", "Arn"]}): {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    json.dumps({"Fn::GetAtt": ["SessionsTable", "Arn"]}): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    json.dumps({"Ref": "SigningKey"}): {"secretsmanager:GetSecretValue"},
    json.dumps({"Ref": "LockoutKey"}): {"secretsmanager:GetSecretValue"},
    json.dumps({"Ref": "RefreshKey"}): {"secretsmanager:GetSecretValue"},
}, f"authenticate: least privilege per resource, has {by_resource}")
check(au["Environment"]["Variables"].get("LOCKOUT_KEY_ARN") == {"Ref": "LockoutKey"}, "authenticate gets the lockout key's ARN")
check(au["Environment"]["Variables"].get("REFRESH_KEY_ARN") == {"Ref": "RefreshKey"}, "authenticate gets the refresh key's ARN")
for name in ("CheckTokenFunction", "HelloFunction"):
    props, _ = fn(name)
    for key in ("LockoutKey", "RefreshKey"):
        check(key not in json.dumps(props), f"{name} cannot read {key}")
sessions = res["SessionsTable"]
sp = sessions["Properties"]
check(sessions.get("DeletionPolicy") == "Retain", "sessions table kept when the stack is deleted")
check(sp["BillingMode"] == "PAY_PER_REQUEST" and all(b["SSEEnabled"] is True for b in sp["SSESpecification"]["Fn::If"][1:])
      and sp["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, "sessions table: on demand, encrypted, PITR")
check(sp["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}, "sessions expire by TTL")
check([i["IndexName"] for i in sp["GlobalSecondaryIndexes"]] == ["by_user"], "sessions listed per user")
for name in ("CheckTokenFunction", "HelloFunction"):
    props, _ = fn(name)
    check("SessionsTable" not in json.dumps(props.get("Policies", [])), f"{name} cannot touch sessions")
check(au["Environment"]["Variables"].get("SESSIONS_TABLE") == {"Ref": "SessionsTable"} and au["Environment"]["Variables"].get("REFRESH_TTL_SECONDS") == {"Ref": "RefreshTokenTtlSeconds"}
      and au["Environment"]["Variables"].get("SESSION_MAX_SECONDS") == {"Ref": "SessionMaxSeconds"}, "session settings from parameters")
for ev, kind in (("Revoke", "RestApiId"), ("RevokeHttpApi", "ApiId")):
    rp = au["Events"][ev]["Properties"]
    check(rp["Path"] == "/revoke" and rp["Method"].lower() == "post" and rp["Auth"]["Authorizer"] == "NONE", f"{ev}: POST /revoke without the authorizer")
aenv = au["Environment"]["Variables"]
check(aenv.get("ATTEMPTS_TABLE") == {"Ref": "AttemptsTable"}, "authenticate counts attempts in AttemptsTable")
for var, param in (("LOCKOUT_THRESHOLD", "LockoutThreshold"), ("LOCKOUT_MAX_SECONDS", "LockoutMaxSeconds"),
                   ("LOCKOUT_RESET_SECONDS", "LockoutResetSeconds"), ("SOURCE_FAILURE_THRESHOLD", "SourceFailureThreshold"),
                   ("ACCOUNT_FAILURE_CEILING", "AccountFailureCeiling")):
    check(aenv.get(var) == {"Ref": param}, f"{var} from the parameter {param}")
check(t["Parameters"]["LockoutMaxSeconds"]["Default"] == 900, "no hold longer than 15 minutes by default")
attempts = res["AttemptsTable"]["Properties"]
check(attempts["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}, "attempts expire by TTL")
check(attempts["BillingMode"] == "PAY_PER_REQUEST" and all(b["SSEEnabled"] is True for b in attempts["SSESpecification"]["Fn::If"][1:]), "attempts table on demand, encrypted")
check(au["ReservedConcurrentExecutions"]["Fn::If"][0] == "ReserveAuthenticate"
      and t["Parameters"]["AuthenticateReservedConcurrency"]["Default"] == 0, "reserved concurrency: a parameter, off by default")
check(au["Events"]["Token"]["Properties"]["Path"] == "/token" and au["Events"]["Token"]["Properties"]["Method"].lower() == "post", "POST /token")
check(au["Events"]["Token"]["Properties"]["Auth"]["Authorizer"] == "NONE", "/token has no authorizer")
he, _ = fn("HelloFunction")
check(he.get("Policies") == [kms], "hello may do nothing but decrypt with the customer-managed key, when one is set")
check("Auth" not in he["Events"]["Hello"]["Properties"], "/hello uses the default authorizer")

api = res["Api"]["Properties"]
auth = api["Auth"]
check(auth["DefaultAuthorizer"] == "TokenAuthorizer", "default authorizer")
ta = auth["Authorizers"]["TokenAuthorizer"]
check(ta["FunctionArn"] == {"Fn::GetAtt": ["CheckTokenFunction", "Arn"]}, "authorizer is check-token")
check(ta["Identity"]["Header"] == "Authorization", "identity header")
check(ta["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtlSeconds"}, "cache TTL from a parameter")
check(t["Parameters"]["AuthorizerCacheTtlSeconds"]["Default"] == 300, "cache TTL default 300")
check("ValidationExpression" in ta["Identity"], "validation expression")
gr = api["GatewayResponses"]
check(gr["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == "'Bearer'", "401 WWW-Authenticate: Bearer")
check("application/json" in gr["UNAUTHORIZED"]["ResponseTemplates"] and "application/json" in gr["ACCESS_DENIED"]["ResponseTemplates"], "JSON 401/403")
ms = api["MethodSettings"][0]
check(ms["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"} and ms["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}, "throttling parameters")
token_ms = [m for m in api["MethodSettings"] if m["ResourcePath"] == "/~1token" and m["HttpMethod"] == "POST"]
check(len(token_ms) == 1 and token_ms[0]["ThrottlingRateLimit"] == {"Ref": "TokenThrottlingRateLimit"}
      and token_ms[0]["ThrottlingBurstLimit"] == {"Ref": "TokenThrottlingBurstLimit"}, "POST /token has its own REST throttle")

# The HTTP API: the same functions and authorizer, its own wire format (payload 2.0, simple responses).
http = res["HttpApi"]["Properties"]
check(res["HttpApi"]["Type"] == "AWS::Serverless::HttpApi", "an HTTP API")
hauth = http["Auth"]
check(hauth["DefaultAuthorizer"] == "LambdaAuthorizer", "HTTP API default authorizer")
la = hauth["Authorizers"]["LambdaAuthorizer"]
check(la["FunctionArn"] == {"Fn::GetAtt": ["CheckTokenFunction", "Arn"]}, "HTTP API authorizer is check-token")
check(la["AuthorizerPayloadFormatVersion"] == "2.0", "payload format 2.0")
check(la["EnableFunctionDefaultPermissions"] is True, "API Gateway may invoke the authorizer")
check(la["Identity"]["Headers"] == ["Authorization"], "identity source: the Authorization header")
check(la["Identity"]["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheTtlSeconds"}, "HTTP API cache TTL from the parameter")
simple = la["EnableSimpleResponses"]
check(ct["Environment"]["Variables"].get("ENABLE_SIMPLE_RESPONSES") == str(simple).lower(),
      "check-token's ENABLE_SIMPLE_RESPONSES matches the authorizer's EnableSimpleResponses")
drs = http["DefaultRouteSettings"]
check(drs["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"} and drs["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}, "HTTP API throttling")
check("$context.authorizer.error" in http["AccessLogSettings"]["Format"], "access logs carry the authorizer's error")
rs = http.get("RouteSettings", {}).get("POST /token", {})
check(rs.get("ThrottlingRateLimit") == {"Ref": "TokenThrottlingRateLimit"} and rs.get("ThrottlingBurstLimit") == {"Ref": "TokenThrottlingBurstLimit"},
      "POST /token has its own HTTP API throttle")
tok = au["Events"]["TokenHttpApi"]["Properties"]
check(tok["ApiId"] == {"Ref": "HttpApi"} and tok["Path"] == "/token" and tok["Method"].lower() == "post", "HTTP API POST /token")
check(tok["Auth"]["Authorizer"] == "NONE", "HTTP API /token has no authorizer")
hh = he["Events"]["HelloHttpApi"]["Properties"]
check(hh["ApiId"] == {"Ref": "HttpApi"} and "Auth" not in hh, "HTTP API /hello uses the default authorizer")
check(res["HttpApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, "access log retention")

table = res["UsersTable"]["Properties"]
check(table["BillingMode"] == "PAY_PER_REQUEST", "on-demand table")
check(table["KeySchema"] == [{"AttributeName": "email", "KeyType": "HASH"}], "partition key email")
check(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, "PITR")
check(all(b["SSEEnabled"] is True for b in table["SSESpecification"]["Fn::If"][1:]), "encryption at rest")
for key in ("SigningKey", "LockoutKey", "RefreshKey"):
    secret = res[key]["Properties"]["GenerateSecretString"]
    check(res[key]["Type"] == "AWS::SecretsManager::Secret" and secret["PasswordLength"] >= 64, f"{key}: generated secret of 64+ characters")
    check("SecretString" not in res[key]["Properties"], f"{key}: no secret value in the template")
for lg in ("CheckTokenLogGroup", "AuthenticateLogGroup", "HelloLogGroup"):
    check(res[lg]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, f"{lg} retention")
for out in ("ApiUrl", "TokenUrl", "HelloUrl", "HttpApiUrl", "HttpTokenUrl", "HttpHelloUrl", "UsersTableName", "SigningKeySecretArn", "LockoutKeySecretArn"):
    check(out in t["Outputs"], f"output {out}")
for p in ("JwtIssuer", "JwtAudience", "TokenTtlSeconds", "AuthorizerCacheTtlSeconds", "StageName"):
    check(p in t["Parameters"], f"parameter {p}")

# CORS, checked on what SAM makes of the template (samtranslator, offline), with the intrinsics
# CloudFormation would evaluate evaluated here for given AllowedOrigins.
import os
import re

from samtranslator.translator.transform import transform

NO_VALUE = object()


def evaluate(v, params, conditions):
    """The subset of CloudFormation's intrinsics the template uses for CORS."""
    if isinstance(v, list):
        return [x for x in (evaluate(i, params, conditions) for i in v) if x is not NO_VALUE]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (k, a), = v.items()
        if k == "Ref":
            return NO_VALUE if a == "AWS::NoValue" else params.get(a, v)
        if k == "Fn::If":
            return evaluate(a[1] if conditions[a[0]] else a[2], params, conditions)
        if k == "Fn::Split":
            return evaluate(a[1], params, conditions).split(a[0])
        if k == "Fn::Select":
            return evaluate(a[1], params, conditions)[int(a[0])]
        if k == "Fn::Sub":
            text, names = (a, {}) if isinstance(a, str) else a
            names = {n: evaluate(x, params, conditions) for n, x in names.items()}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(names.get(m[1], params.get(m[1], m[0]))), text)
    return {k: x for k, x in ((k, evaluate(x, params, conditions)) for k, x in v.items()) if x is not NO_VALUE}


def deployed(origins):
    doc = json.loads(json.dumps(t))
    for r in doc["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://bucket/key"  # what sam deploy uploads
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(doc, {"AllowedOrigins": origins}, type("NoManagedPolicies", (), {"load": lambda self: {}})())
    params = {"AllowedOrigins": origins}
    conditions = {"CorsOff": origins == "", "ReserveAuthenticate": False, "MetricsNamespaceIsStack": True,
                  "TracingOn": False, "UseCmk": False, "CreateApiGatewayLoggingRole": True}
    return evaluate(out["Resources"], params, conditions)


# Every finding of checkov's scan that is not fixed is skipped next to its resource, with a reason.
for name, r in t["Resources"].items():
    for skip in (r.get("Metadata", {}).get("checkov", {}) or {}).get("skip", []):
        check(isinstance(skip.get("comment"), str) and len(skip["comment"].split()) >= 5,
              f"{name}: checkov skip {skip.get('id')} says why")

check(t["Parameters"]["AllowedOrigins"]["Default"] == "", "AllowedOrigins: no cross-origin access by default")
pattern = re.compile(t["Parameters"]["AllowedOrigins"]["AllowedPattern"])
for good in ("", "*", "https://app.example.com", "https://a.example,http://127.0.0.1:8000"):
    check(pattern.fullmatch(good), f"AllowedOrigins accepts {good!r}")
for bad in ("https://a.example/", "a.example", "https://a.example, https://b.example", "*,https://a.example"):
    check(not pattern.fullmatch(bad), f"AllowedOrigins refuses {bad!r}")
for name in ("AuthenticateFunction", "HelloFunction"):
    props, _ = fn(name)
    check(props["Environment"]["Variables"].get("ALLOWED_ORIGINS") == {"Ref": "AllowedOrigins"},
          f"{name}: ALLOWED_ORIGINS from the parameter")
check(auth.get("AddDefaultAuthorizerToCorsPreflight") is False, "REST preflight without the authorizer")

for origins, first in (("https://a.example,https://b.example", "https://a.example"), ("*", "*"), ("", None)):
    r = deployed(origins)
    body = r["Api"]["Properties"]["Body"]
    for path, item in body["paths"].items():
        opts = item.get("options")
        check(opts is not None, f"{origins!r}: {path} has a preflight method")
        if opts is None:
            continue
        check(not opts.get("security"), f"{origins!r}: {path} preflight has no authorizer")
        integration = opts["x-amazon-apigateway-integration"]
        check(integration["type"] == "mock", f"{path}: preflight answered by API Gateway")
        params = integration["responses"]["default"]["responseParameters"]
        acao = params.get("method.response.header.Access-Control-Allow-Origin")
        check(acao == (f"'{first}'" if first else None), f"{origins!r}: {path} preflight origin {acao}")
        check("authorization" in params["method.response.header.Access-Control-Allow-Headers"]
              and "content-type" in params["method.response.header.Access-Control-Allow-Headers"],
              f"{path}: preflight allows authorization and content-type")
        check("method.response.header.Access-Control-Max-Age" in params, f"{path}: preflight max age")
    responses = body["x-amazon-apigateway-gateway-responses"]
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"):
        got = responses.get(kind, {}).get("responseParameters", {}).get("gatewayresponse.header.Access-Control-Allow-Origin")
        check(got == (f"'{first}'" if first else None), f"{origins!r}: {kind} origin {got}")
    hcors = r["HttpApi"]["Properties"]["Body"].get("x-amazon-apigateway-cors")
    if first is None:
        check(hcors is None, "no HTTP API CORS configuration when AllowedOrigins is empty")
    else:
        check(hcors["allowOrigins"] == origins.split(","), f"{origins!r}: HTTP API origins {hcors['allowOrigins']}")
        check({"authorization", "content-type"} <= set(hcors["allowHeaders"]), "HTTP API allowed headers")
        check({"GET", "POST", "OPTIONS"} <= set(hcors["allowMethods"]), "HTTP API allowed methods")
        check("maxAge" in hcors, "HTTP API preflight max age")
    # No catch-all route behind the authorizer: it would catch preflight too.
    for path, item in r["HttpApi"]["Properties"]["Body"]["paths"].items():
        for method, op in item.items():
            catch_all = path == "$default" or "+}" in path or method == "x-amazon-apigateway-any-method"
            check(not (catch_all and op.get("security")), f"HTTP API catch-all {method} {path} behind the authorizer")

# Monitoring (the nested monitoring.yaml): the alarms notify the topic, an email only when given,
# and the dashboard's body is JSON once CloudFormation has substituted its names.
import os.path
import re as _re
mon_app = res["Monitoring"]["Properties"]
check(mon_app["Location"] == "monitoring.yaml", "monitoring is the nested monitoring.yaml")
m = cfn_yaml.load(os.path.join(os.path.dirname(sys.argv[1]), "monitoring.yaml"))
check(set(mon_app["Parameters"]) == {k for k, v in m["Parameters"].items()}, "every monitoring parameter is passed")
alarms = {k: v for k, v in m["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
for name in ("FailedSignInSpikeAlarm", "RefreshReuseAlarm", "AuthorizerMisconfiguredAlarm", "DependencyFailuresAlarm",
             "FunctionErrorsAlarm", "FunctionThrottlesAlarm", "Api5xxAlarm"):
    check(name in alarms, f"alarm {name}")
for name, a in alarms.items():
    check(a["Properties"].get("AlarmActions") == [{"Ref": "AlarmTopic"}], f"{name} notifies the topic")
    check(a["Properties"].get("TreatMissingData") == "notBreaching", f"{name}: no data is no alarm")
check(m["Resources"]["AlarmSubscription"].get("Condition") == "EmailSet", "the email subscription only with AlarmEmail")
body = m["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
try:
    widgets = json.loads(_re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    check(len(widgets) >= 8, "the dashboard's widgets")
except ValueError as e:
    check(False, f"the dashboard body is not JSON: {e}")

# The JWT-authorized HTTP API (the nested jwt-api.yaml, JwtAuthorizer=on): only when asked for,
# every parameter passed, and the same routes as the stack's HTTP API, to the same functions,
# public where that one is public, and each protected route's scopes the roles of its rule.
jwt_app = res["JwtApi"]
check(jwt_app.get("Condition") == "JwtAuthorizerOn", "the JWT-authorized API only with JwtAuthorizer=on")
check(jwt_app["Properties"]["Location"] == "jwt-api.yaml", "the JWT-authorized API is the nested jwt-api.yaml")
j = cfn_yaml.load(os.path.join(os.path.dirname(sys.argv[1]), "jwt-api.yaml"))
check(set(jwt_app["Properties"]["Parameters"]) == set(j["Parameters"]), "every jwt-api parameter is passed")
check(jwt_app["Properties"]["Parameters"]["Issuer"] == {"Ref": "JwtIssuer"}, "the JWT authorizer trusts the tokens' issuer")
check(jwt_app["Properties"]["Parameters"]["Audience"] == {"Ref": "JwtAudience"}, "the JWT authorizer wants the tokens' audience")
jwt_conf = j["Resources"]["JwtAuthorizer"]["Properties"]["JwtConfiguration"]
check(jwt_conf == {"Issuer": {"Ref": "Issuer"}, "Audience": [{"Ref": "Audience"}]}, "the JWT authorizer's issuer and audience")
rules = {}
check(res["CheckTokenFunction"]["Properties"]["Environment"]["Variables"]["ROUTE_RULES"] == {"Ref": "RouteRules"},
      "check-token's rules are the RouteRules parameter")
for entry in _re.split(r"[;\n]", t["Parameters"]["RouteRules"]["Default"]):
    if entry.strip():
        method, path, who = entry.split()
        rules[f"{method} {path}"] = [] if who == "*" else who.split(",")
integration_of = {"HelloFunctionArn": "HelloIntegration", "AuthenticateFunctionArn": "AuthenticateIntegration"}
jwt_routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in j["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
http_routes = {}
for name in ("AuthenticateFunction", "HelloFunction"):
    for ev in res[name]["Properties"]["Events"].values():
        if ev["Type"] == "HttpApi":
            key = f"{ev['Properties']['Method'].upper()} {ev['Properties']['Path']}"
            public = ev["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
            http_routes[key] = (name, public)
check(set(jwt_routes) == set(http_routes), f"the JWT-authorized API has the HTTP API's routes: {sorted(jwt_routes)} vs {sorted(http_routes)}")
for key, (function, public) in http_routes.items():
    route = jwt_routes.get(key, {})
    integration = integration_of[f"{function[:-len('Function')]}FunctionArn"]
    check(route.get("Target") == {"Fn::Sub": f"integrations/${{{integration}}}"}, f"JWT route {key} reaches {function}")
    if public:
        check(route.get("AuthorizationType") == "NONE", f"JWT route {key} is public, as on the HTTP API")
    else:
        check(route.get("AuthorizationType") == "JWT" and route.get("AuthorizerId") == {"Ref": "JwtAuthorizer"},
              f"JWT route {key} is behind the JWT authorizer")
        check(key in rules, f"JWT route {key} has a route rule")
        check(sorted(route.get("AuthorizationScopes", [])) == sorted(rules.get(key, [])),
              f"JWT route {key}: its scopes are its rule's roles {rules.get(key)}")

if failures:
    print("template contract broken:\n- " + "\n- ".join(failures))
    sys.exit(1)
print("template contract: all checks passed")
