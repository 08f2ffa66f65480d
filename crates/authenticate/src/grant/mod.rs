//! The grants `/token` accepts, and the sessions they start.

pub mod password;
pub mod refresh;

use authcore::IssuedToken;
use authcore::token::Subject;
use userstore::User;

use crate::error::EndpointError;
use crate::state::State;

/// The access token of `user`, whose stable id is `id`: the id as `sub`, the email and name as
/// stored now, and `roles` (the user's roles, or fewer when the client asked for fewer scopes).
fn access_token(
    state: &State,
    id: String,
    user: User,
    roles: Vec<String>,
) -> Result<IssuedToken, EndpointError> {
    let subject = Subject {
        sub: id,
        email: Some(user.email),
        name: user.name,
        roles,
    };
    state.issuer.issue(subject).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        EndpointError::SigningFailed
    })
}
