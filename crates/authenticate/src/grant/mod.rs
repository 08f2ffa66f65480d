//! The grants `/token` accepts, and the sessions they start.

pub mod password;
pub mod refresh;

use authcore::IssuedToken;
use authcore::token::Subject;
use userstore::User;

use crate::error::EndpointError;
use crate::state::State;

/// The access token of `user`, whose stable id is `id`: the id as `sub`, the email, name and
/// roles as stored now.
fn access_token(state: &State, id: String, user: User) -> Result<IssuedToken, EndpointError> {
    let subject = Subject {
        sub: id,
        email: Some(user.email),
        name: user.name,
        roles: user.roles,
    };
    state.issuer.issue(subject).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        EndpointError::SigningFailed
    })
}
