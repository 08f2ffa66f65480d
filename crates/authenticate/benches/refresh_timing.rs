//! Does the time of a refused refresh tell whether its token ever existed, or whether its
//! session lives? The whole handler, against a real DynamoDB-compatible server (moto), for an
//! unknown, a revoked and a reused refresh token, in turns, with medians compared.
//! `cargo bench -p authenticate --bench refresh_timing`.

use std::time::{Duration, Instant};

use authcore::Config;
use authcore::password::PasswordHasher;
use authcore::token::now_seconds;
use authcore::token::refresh::new_refresh_token;
use authenticate::{LockoutPolicy, SessionPolicy, State, handler};
use lambda_http::{Body, Request, http};
use testkit::moto::MotoServer;
use userstore::attempts::AttemptStore;
use userstore::sessions::{Family, SessionStore};
use userstore::{User, UserStore};

const ROUNDS: usize = 120;
const KINDS: [&str; 3] = ["unknown", "revoked", "reused"];

fn request(token: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(Body::Text(format!(
            r#"{{"grant_type":"refresh_token","refresh_token":"{token}"}}"#
        )))
        .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A new family of the user with its first token; returns the family and the token.
async fn family(sessions: &SessionStore, n: usize) -> (Family, String) {
    let now = now_seconds();
    let family = Family {
        id: format!("{n:032x}"),
        user_id: "u_timing".into(),
        email: "exists@example.com".into(),
        created_at: now,
        last_used_at: now,
        ends_at: now + 86_400,
        revoked: false,
        scope: None,
    };
    let token = new_refresh_token().unwrap();
    sessions
        .start(&family, &token.hash, now + 86_400)
        .await
        .unwrap();
    (family, token.token)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = MotoServer::start();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config());
    let users = UserStore::new(client.clone(), "rt-users");
    let attempts = AttemptStore::new(client.clone(), "rt-attempts");
    let sessions = SessionStore::new(client, "rt-sessions");
    rt.block_on(async {
        users.create_table().await.unwrap();
        attempts.create_table().await.unwrap();
        sessions.create_table().await.unwrap();
        let hash = PasswordHasher::default().hash("the real password").unwrap();
        users
            .create(&User::new("exists@example.com", hash))
            .await
            .unwrap();
    });
    let config = Config::with_secret(&authcore::generate_secret().unwrap()).unwrap();
    let lockout_key = authcore::SigningKey::new(authcore::generate_secret().unwrap()).unwrap();
    let guard = authenticate::Guard::for_key(attempts, LockoutPolicy::default(), &lockout_key);
    let refresh_key = authcore::SigningKey::new(authcore::generate_secret().unwrap()).unwrap();
    let state = State::new(config.inline_key().unwrap(), &config, users, guard)
        .with_sessions(sessions.clone(), SessionPolicy::default())
        .with_refresh_key(&refresh_key);

    let mut times: [Vec<Duration>; 3] = Default::default();
    rt.block_on(async {
        for round in 0..ROUNDS + 5 {
            // A revoked token, and a token exchanged an hour ago (past any retry window).
            let (revoked, revoked_token) = family(&sessions, 2 * round).await;
            sessions.revoke(&revoked.id).await.unwrap();
            let (exchanged, reused_token) = family(&sessions, 2 * round + 1).await;
            let old = authcore::token::refresh::hash(&reused_token).unwrap();
            let next = new_refresh_token().unwrap();
            let hour_ago = now_seconds() - 3600;
            sessions
                .rotate(&exchanged.id, &old, &next.hash, hour_ago, hour_ago + 86_400)
                .await
                .unwrap();
            let unknown_token = new_refresh_token().unwrap().token;
            let tokens = [unknown_token, revoked_token, reused_token];
            // Turns in a rotating order, so that drift affects every kind alike.
            for k in 0..3 {
                let kind = (round + k) % 3;
                let t = Instant::now();
                let response = handler(&state, request(&tokens[kind])).await.unwrap();
                let took = t.elapsed();
                assert_eq!(response.status(), 400, "{}", KINDS[kind]);
                if round >= 5 {
                    times[kind].push(took);
                }
            }
        }
    });
    let medians = times.map(median);
    for (kind, m) in KINDS.iter().zip(medians) {
        println!("refused refresh, {kind:8} token: median {m:?} over {ROUNDS} requests");
    }
    let (min, max) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    let spread = (max.as_secs_f64() - min.as_secs_f64()) / min.as_secs_f64() * 100.0;
    println!("spread: {spread:.2}% of the fastest median (target: under 5%)");
}
