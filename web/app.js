// The sign-in page: POST /token, then GET /hello with the bearer token.
//
// The access token and the refresh token are kept in this script's memory only, never in
// localStorage, sessionStorage or a cookie: a script injected into the page (XSS) could read
// them from storage, and they would outlive the tab. The price is that a reload signs the
// person out. The access token is refreshed shortly before it expires, and once after a 401;
// signing out revokes the session (POST /revoke).
//
// The API's address comes only from config.json, served beside the page by its operator
// (make dev writes it): never from the URL, so that a link cannot make the page send a password
// elsewhere. The server's Content-Security-Policy names the same origin.
"use strict";

/** The current session: { token, expiresAt, lifetime (ms), refresh }, or null. */
let session = null;
let countdown = null;

const $ = (id) => document.getElementById(id);

/** The API base URL, from config.json; empty until it is read. */
let api = "";

function apiBase() {
  return api;
}

/** Reads config.json; false (with a message) when the page has no usable configuration. */
async function configure() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    const config = await response.json();
    const url = new URL(config.api);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("not http(s)");
    }
    api = config.api.replace(/\/+$/, "");
    $("api").textContent = api;
    return true;
  } catch {
    show($("signin-error"), "This page has no API configured: its operator must serve a config.json beside it.");
    $("signin-button").disabled = true;
    return false;
  }
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

/** What a person should read for an error answer from /token. */
function signInError(status, body, retryAfter) {
  if (status === 401 && body.error === "invalid_grant") {
    if (retryAfter) {
      const minutes = Math.max(1, Math.ceil(Number(retryAfter) / 60));
      return `Too many failed attempts. Try again in about ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    }
    return "Wrong email or password.";
  }
  if (status === 429) {
    return "Too many sign-in attempts right now. Wait a moment and try again.";
  }
  if (status === 503 || status >= 500) {
    return "The service is temporarily unavailable. Try again in a moment.";
  }
  if (status === 400 && body.error_description) {
    return `The request was refused: ${body.error_description}.`;
  }
  return `Sign-in failed (HTTP ${status}).`;
}

function unreachable() {
  return `Cannot reach ${apiBase() || "the API"}. Is it running, and does its AllowedOrigins include ${window.location.origin}?`;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

async function signIn(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  show($("signin-error"), "");
  if (!email || !password) {
    show($("signin-error"), "Enter your email and password.");
    return;
  }
  $("signin-button").disabled = true;
  try {
    const response = await fetch(`${apiBase()}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    const body = await readJson(response);
    if (!response.ok || !body.access_token) {
      show($("signin-error"), signInError(response.status, body, response.headers.get("Retry-After")));
      return;
    }
    $("password").value = "";
    session = null;
    adopt(body);
    show($("notice"), "");
    await callHello();
    await showRoutes();
  } catch {
    show($("signin-error"), unreachable());
  } finally {
    $("signin-button").disabled = false;
  }
}

/** Keeps the tokens of a /token answer (sign-in or refresh). */
function adopt(body) {
  session = {
    token: body.access_token,
    expiresAt: Date.now() + body.expires_in * 1000,
    lifetime: body.expires_in * 1000,
    refresh: body.refresh_token || null,
  };
}

/** Exchanges the refresh token for new tokens; false when the session is over. */
async function refreshTokens() {
  const current = session;
  if (!current || !current.refresh) {
    return false;
  }
  try {
    // /refresh, not /token: its throttle is its own, so a flood of sign-ins cannot starve it.
    const response = await fetch(`${apiBase()}/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: current.refresh }),
    });
    const body = await readJson(response);
    if (session !== current || !response.ok || !body.access_token) {
      return false; // refused, or signed out meanwhile
    }
    adopt(body);
    return true;
  } catch {
    return false;
  }
}

/** GET /hello with the token: the greeting and claims; on a 401, one refresh and a retry,
 * else the way back to sign-in. */
async function callHello(retried = false) {
  if (!session) {
    return;
  }
  show($("session-error"), "");
  let response;
  try {
    response = await fetch(`${apiBase()}/hello`, {
      headers: { Authorization: `Bearer ${session.token}` },
    });
  } catch {
    show($("session-error"), unreachable());
    return;
  }
  const body = await readJson(response);
  if (response.status === 401) {
    if (!retried && await refreshTokens()) {
      await callHello(true);
    } else {
      endSession("Your session has expired. Sign in again.");
    }
    return;
  }
  if (!response.ok) {
    const why = response.status === 403
      ? "You are signed in, but not allowed to call /hello."
      : `/hello failed (HTTP ${response.status}).`;
    showSession();
    show($("session-error"), why);
    return;
  }
  const context = body.context || {};
  $("greeting").textContent = body.message || "Hello!";
  $("claim-sub").textContent = context.sub || body.principalId || "";
  $("claim-email").textContent = context.email || "";
  $("claim-roles").textContent = context.roles || "none";
  showSession();
}

/** Which demo routes this token may call: a 403 is "not allowed", not an error. */
async function showRoutes() {
  if (!session) {
    return;
  }
  for (const [path, id] of [["/hello", "route-hello"], ["/admin", "route-admin"]]) {
    let text;
    try {
      const response = await fetch(`${apiBase()}${path}`, {
        headers: { Authorization: `Bearer ${session.token}` },
      });
      text = response.ok ? "allowed" : response.status === 403 ? "not allowed" : `HTTP ${response.status}`;
    } catch {
      text = "unreachable";
    }
    $(id).textContent = text;
  }
}

function showSession() {
  $("signin-card").hidden = true;
  $("session").hidden = false;
  startCountdown();
}

function startCountdown() {
  if (countdown) {
    return;
  }
  const tick = () => {
    if (!session) {
      return;
    }
    const left = Math.max(0, Math.round((session.expiresAt - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    $("expires-in").textContent = left > 0 ? `${minutes}:${seconds}` : "now";
    // Refresh when a fifth of the lifetime (at least 10 s) is left.
    const margin = Math.max(10_000, session.lifetime / 5);
    if (session.refresh && session.expiresAt - Date.now() <= margin && !session.refreshing) {
      const current = session;
      current.refreshing = true;
      refreshTokens().then((ok) => {
        if (!ok && session === current) {
          endSession("Your session has expired. Sign in again.");
        }
      });
    } else if (left === 0 && !session.refresh) {
      // No refresh token: the API judges, and a 401 brings back the sign-in form.
      clearInterval(countdown);
      countdown = null;
      callHello();
    }
  };
  tick();
  countdown = setInterval(tick, 1000);
}

/** Ends the session at the API (its refresh token stops working), then here. */
async function signOut() {
  const refresh = session && session.refresh;
  endSession("You are signed out.");
  if (refresh) {
    try {
      await fetch(`${apiBase()}/revoke`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: refresh, token_type_hint: "refresh_token" }),
      });
    } catch {
      // The access token still expires on its own; nothing else to do.
    }
  }
}

function endSession(message) {
  session = null;
  clearInterval(countdown);
  countdown = null;
  for (const id of ["greeting", "claim-sub", "claim-email", "claim-roles", "expires-in", "route-hello", "route-admin"]) {
    $(id).textContent = "";
  }
  show($("session-error"), "");
  $("session").hidden = true;
  $("signin-card").hidden = false;
  show($("notice"), message);
  $("password").focus();
}

async function init() {
  if (new URLSearchParams(window.location.search).has("api")) {
    show($("notice"), "The api parameter is ignored: this page signs in only to the API its configuration names.");
  }
  $("signin").addEventListener("submit", signIn);
  $("call-hello").addEventListener("click", () => callHello());
  $("signout").addEventListener("click", signOut);
  await configure();
}

init();
