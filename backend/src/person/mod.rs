//! The person's own page: the plan, the shortlist and the groups they were introduced to, in
//! their hands, without an account. A link worker makes the link with the person's consent
//! ([`links`]); the page and what the person can do on it are in [`page`].

pub mod links;
pub mod page;
