//! The user commands: add, list, change, lock out and end the sessions of users.

use std::io::{BufRead, IsTerminal};

use authcore::password::{PasswordHasher, PasswordPolicy};
use authcore::{new_user_id, normalize_email};
use lockout::{Guard, LockoutPolicy};
use userstore::sessions::SessionStore;
use userstore::{User, UserStore};

use crate::cli::UserCommand;
use crate::settings::Settings;
use crate::{Failure, Stores};

fn read_password(
    policy: &PasswordPolicy,
    prompt: &str,
    context: &[&str],
) -> Result<String, Failure> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Repeat: ")?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    policy.check(&password, context)?;
    Ok(password)
}

/// Ends every session of the user `email`; returns how many.
async fn end_sessions(
    store: &UserStore,
    sessions: &SessionStore,
    email: &str,
) -> Result<usize, Failure> {
    let user = store
        .get(email)
        .await?
        .ok_or_else(|| userstore::StoreError::NotFound(email.to_owned()))?;
    match &user.id {
        Some(id) => Ok(sessions.revoke_all(id).await?),
        None => Ok(0),
    }
}

/// Runs one user command.
pub async fn run(stores: &Stores, settings: &Settings, cmd: UserCommand) -> Result<(), Failure> {
    let (store, sessions) = (&stores.users, &stores.sessions);
    let hasher = PasswordHasher::default();
    let policy = &settings.passwords;
    match cmd {
        UserCommand::Add { email, name, roles } => {
            let email = normalize_email(&email)?;
            // Fail fast on a duplicate before asking for a password.
            if store.get(&email).await?.is_some() {
                return Err(userstore::StoreError::AlreadyExists(email).into());
            }
            let context = [email.as_str(), name.as_deref().unwrap_or_default()];
            let password = read_password(policy, &format!("Password for {email}: "), &context)?;
            let user = User {
                id: Some(new_user_id()?),
                name,
                roles,
                ..User::new(email.clone(), hasher.hash(&password)?)
            };
            store.create(&user).await?;
            println!("added {email}");
        }
        UserCommand::List => {
            let mut users = store.list().await?;
            users.sort_by(|a, b| a.email.cmp(&b.email));
            for u in users {
                let line = serde_json::json!({
                    "email": u.email, "id": u.id, "name": u.name, "roles": u.roles,
                    "disabled": u.disabled, "created_at": u.created_at, "updated_at": u.updated_at,
                });
                println!("{line}");
            }
        }
        UserCommand::Passwd { email } => {
            let email = normalize_email(&email)?;
            let Some(existing) = store.get(&email).await? else {
                return Err(userstore::StoreError::NotFound(email).into());
            };
            let context = [email.as_str(), existing.name.as_deref().unwrap_or_default()];
            let password = read_password(policy, &format!("New password for {email}: "), &context)?;
            store
                .set_password_hash(&email, &hasher.hash(&password)?)
                .await?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("password changed for {email}; {ended} sessions ended");
        }
        UserCommand::Disable { email } => {
            let email = normalize_email(&email)?;
            store.set_disabled(&email, true).await?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("disabled {email}; {ended} sessions ended");
        }
        UserCommand::Enable { email } => {
            let email = normalize_email(&email)?;
            store.set_disabled(&email, false).await?;
            println!("enabled {email}");
        }
        UserCommand::Unlock { email } => {
            let email = normalize_email(&email)?;
            let source = settings.lockout_key()?;
            let key = secrets::Loader::new(&settings.aws, &[source])
                .current(source)
                .await?;
            let guard = Guard::new(
                stores.attempts.clone(),
                LockoutPolicy::default(),
                lockout::counter_hash(&key),
            );
            let removed = guard.unlock(&email).await?;
            println!("unlocked {email} ({removed} counters cleared)");
        }
        UserCommand::Sessions { email } => {
            let email = normalize_email(&email)?;
            let user = store
                .get(&email)
                .await?
                .ok_or_else(|| userstore::StoreError::NotFound(email.clone()))?;
            let now = authcore::token::now_seconds();
            let mut families = match &user.id {
                Some(id) => sessions.families_of(id).await?,
                None => Vec::new(),
            };
            families.sort_by_key(|f| f.created_at);
            for f in families {
                let line = serde_json::json!({
                    "started": userstore::rfc3339(f.created_at),
                    "last_used": userstore::rfc3339(f.last_used_at),
                    "ends": userstore::rfc3339(f.ends_at),
                    "revoked": f.revoked,
                    "active": !f.revoked && f.ends_at > now,
                });
                println!("{line}");
            }
        }
        UserCommand::Revoke { email } => {
            let email = normalize_email(&email)?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("ended {ended} sessions of {email}");
        }
        UserCommand::AssignIds => {
            let (mut given, mut kept) = (0, 0);
            for u in store.list().await? {
                if u.id.is_none()
                    && store
                        .assign_id_if_missing(&u.email, &new_user_id()?)
                        .await?
                {
                    given += 1;
                } else {
                    kept += 1;
                }
            }
            println!("gave {given} users an id; {kept} had one already");
        }
        UserCommand::Remove { email } => {
            let email = normalize_email(&email)?;
            store.delete(&email).await?;
            println!("removed {email}");
        }
    }
    Ok(())
}
