//! Does the response time tell an attacker whether an email exists? The whole handler, against
//! a real DynamoDB-compatible server (moto), for an unknown email and for a wrong password,
//! alternating, with medians compared. `cargo bench -p authenticate --bench timing`;
//! `TIMING_PARTS=1` also prints the median of each DynamoDB call on its own.

use std::time::{Duration, Instant};

use authcore::Config;
use authcore::password::PasswordHasher;
use authenticate::{LockoutPolicy, State, handler};
use lambda_http::{Body, Request, http};
use testkit::moto::MotoServer;
use userstore::attempts::AttemptStore;
use userstore::{User, UserStore};

const ROUNDS: usize = 150;

fn request(email: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(Body::Text(format!(
            r#"{{"email":"{email}","password":"definitely not the password"}}"#
        )))
        .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
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
    let store = UserStore::new(client.clone(), "timing-users");
    let attempts = AttemptStore::new(client, "timing-attempts");
    let hash = PasswordHasher::default().hash("the real password").unwrap();
    rt.block_on(async {
        store.create_table().await.unwrap();
        attempts.create_table().await.unwrap();
        store
            .create(&User::new("exists@example.com", hash))
            .await
            .unwrap();
    });
    let config = Config::with_secret(&authcore::generate_secret().unwrap()).unwrap();
    // Every request is counted, as always, but nothing is ever held: both paths do the same work.
    let never = LockoutPolicy {
        threshold: u64::MAX,
        source_threshold: u64::MAX,
        account_ceiling: u64::MAX,
        ..LockoutPolicy::default()
    };
    let lockout_key = authcore::SigningKey::new(authcore::generate_secret().unwrap()).unwrap();
    let guard = authenticate::Guard::for_key(attempts, never, &lockout_key);
    let state = State::new(config.inline_key().unwrap(), &config, store, guard);

    let mut unknown = Vec::with_capacity(ROUNDS);
    let mut wrong = Vec::with_capacity(ROUNDS);
    rt.block_on(async {
        // Warm up both paths.
        for _ in 0..5 {
            handler(&state, request("nobody@example.com"))
                .await
                .unwrap();
            handler(&state, request("exists@example.com"))
                .await
                .unwrap();
        }
        for i in 0..ROUNDS {
            // Alternate the order so that drift affects both alike.
            for path in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
                let (email, into) = if path == 0 {
                    ("nobody@example.com", &mut unknown)
                } else {
                    ("exists@example.com", &mut wrong)
                };
                let t = Instant::now();
                let response = handler(&state, request(email)).await.unwrap();
                into.push(t.elapsed());
                assert_eq!(response.status(), 401);
            }
        }
    });
    if std::env::var_os("TIMING_PARTS").is_some() {
        rt.block_on(async {
            let mut parts: [(&str, Vec<Duration>); 2] =
                [("get existing", vec![]), ("get missing", vec![])];
            for _ in 0..100 {
                let t = Instant::now();
                state.users.get("exists@example.com").await.unwrap();
                parts[0].1.push(t.elapsed());
                let t = Instant::now();
                state.users.get("nobody@example.com").await.unwrap();
                parts[1].1.push(t.elapsed());
            }
            for (name, v) in parts {
                println!("{name}: median {:?}", median(v));
            }
        });
    }
    let (u, w) = (median(unknown), median(wrong));
    let diff = (u.as_secs_f64() - w.as_secs_f64()).abs() / w.as_secs_f64() * 100.0;
    println!("unknown email:  median {u:?} over {ROUNDS} requests");
    println!("wrong password: median {w:?} over {ROUNDS} requests");
    println!("difference: {diff:.2}% of the wrong-password median (target: under 5%)");
}
