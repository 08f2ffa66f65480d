//! The token commands: mint and verify tokens with a local key, for testing.

use std::io::BufRead;

use authcore::token::Subject;
use authcore::{KeySource, TokenIssuer, TokenVerifier};

use crate::Failure;
use crate::cli::TokenCommand;
use crate::settings::Settings;

/// Runs one token command with the local key of `settings`.
pub fn run(settings: &Settings, cmd: TokenCommand) -> Result<(), Failure> {
    let config = settings.token()?;
    let KeySource::Inline(ring) = &config.key_source else {
        return Err("token commands use JWT_SECRET: unset JWT_SECRET_ARN".into());
    };
    match cmd {
        TokenCommand::Mint {
            sub,
            email,
            name,
            roles,
        } => {
            let subject = Subject {
                email: email.or_else(|| sub.contains('@').then(|| sub.clone())),
                sub,
                name,
                roles,
            };
            println!(
                "{}",
                TokenIssuer::from_ring(ring, config).issue(subject)?.token
            );
        }
        TokenCommand::Verify { token } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim().to_owned()
                }
            };
            let token = token.strip_prefix("Bearer ").unwrap_or(&token).trim();
            let claims = TokenVerifier::from_ring(ring, config).verify(token)?;
            println!("{}", serde_json::to_string_pretty(&claims)?);
        }
    }
    Ok(())
}
