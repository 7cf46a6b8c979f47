//! Who is asking and from where, for every handler, API and pages alike: the signed-in user
//! (checked by `session::authenticate`) and the client address (`session::client_ip`), plus
//! record ids taken from the path. A role-typed guard, [`Authorized`], refuses before the
//! handler reads its body, so a caller who may not use a route learns nothing from validation;
//! record-level checks stay in the use-cases, with the loaded row. Every decision is
//! `accounts::policy`'s.

use std::future::{ready, Future, Ready};
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::accounts::policy::{allows, Action};
use crate::accounts::CurrentUser;
use crate::error::{AppError, RequestError};
use crate::ids::{ConnectionId, OrganisationId, ReferralId, ServiceId, SuggestionId, UserId};
use crate::routes::not_a_record_id;
use crate::routes::session::{authenticate, client_ip};

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, RequestError>>>>;

/// A signed-in person (401 on the API, the sign-in page otherwise) and where they ask from.
pub struct Actor {
    /// Who.
    pub user: CurrentUser,
    /// From where, for the audit trail and rate limits.
    pub ip: Option<String>,
}

impl FromRequest for Actor {
    type Error = RequestError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ip = client_ip(&req);
            match authenticate(&req).await {
                Ok(Some((user, _))) => Ok(Actor { user, ip }),
                Ok(None) => {
                    Err(RequestError::for_request(&req, AppError::SignInRequired("no token or session".into())))
                }
                Err(e) => Err(RequestError::for_request(&req, e)),
            }
        })
    }
}

/// Anyone: signed in or not (an invalid or expired session counts as not), and where they ask
/// from.
pub struct Visitor {
    /// Who, when signed in.
    pub user: Option<CurrentUser>,
    /// From where.
    pub ip: Option<String>,
}

impl FromRequest for Visitor {
    type Error = RequestError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ip = client_ip(&req);
            let user = authenticate(&req).await.ok().flatten().map(|(user, _)| user);
            Ok(Visitor { user, ip })
        })
    }
}

/// What a route as a whole is for, asked of the policy before anything else.
pub trait Permission {
    /// The policy's action.
    const ACTION: Action<'static>;
}

macro_rules! permission {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name;
        impl Permission for $name {
            const ACTION: Action<'static> = Action::$name;
        }
    };
}

permission!(
    /// The admin area.
    Administer
);
permission!(
    /// Organisations.
    ManageOrganisations
);
permission!(
    /// Accounts.
    ManageUsers
);
permission!(
    /// The audit trail.
    ViewAudit
);
permission!(
    /// The notifications sent.
    ViewNotifications
);
permission!(
    /// Which areas and practices link worker services cover.
    EditCoverage
);

/// A signed-in person whom the policy allows `P`: 401 when not signed in, 403 otherwise.
pub struct Authorized<P: Permission> {
    /// Who.
    pub user: CurrentUser,
    /// From where.
    pub ip: Option<String>,
    permission: PhantomData<P>,
}

impl<P: Permission + 'static> FromRequest for Authorized<P> {
    type Error = RequestError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let actor = Actor::from_request(req, payload);
        let path = req.path().to_string();
        Box::pin(async move {
            let Actor { user, ip } = actor.await?;
            if allows(&user, P::ACTION) {
                Ok(Authorized { user, ip, permission: PhantomData })
            } else {
                Err(RequestError::for_path(&path, AppError::Forbidden("this is for administrators".into())))
            }
        })
    }
}

/// The client address alone, for routes anyone may use (sign-in, sign-up, suggestions).
pub struct ClientIp(pub Option<String>);

impl FromRequest for ClientIp {
    type Error = RequestError;
    type Future = Ready<Result<Self, RequestError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientIp(client_ip(req))))
    }
}

/// Record ids from the path's `{id}`: anything but a UUID is a 404 naming the field, as for a
/// record that does not exist.
macro_rules! id_from_path {
    ($($name:ident),*) => {$(
        impl FromRequest for $name {
            type Error = RequestError;
            type Future = Ready<Result<Self, RequestError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let text = req.match_info().get("id").unwrap_or_default();
                ready(
                    $name::parse(text)
                        .ok_or_else(|| RequestError::for_path(req.path(), not_a_record_id($name::WHAT))),
                )
            }
        }
    )*};
}

id_from_path!(ReferralId, ServiceId, ConnectionId, OrganisationId, UserId, SuggestionId);
