//! Notifications: what each event tells whom ([`facts`]), the templates
//! that say it ([`templates`]), the subscription that renders and logs each
//! message exactly once ([`planner`]), and the worker that sends them
//! through the Integrations Center's providers or the sandbox outbox
//! ([`sender`]).

pub mod facts;
pub mod planner;
pub mod sender;
pub mod templates;
