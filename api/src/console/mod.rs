//! The web console, served by the same binary at `/` (the API stays under
//! `/api/v1`): server-rendered pages ([`render`]) enhanced by htmx
//! ([`assets`]), which work with JavaScript off (post/redirect/get). Every
//! page reads and every form commands through the API itself, in-process
//! ([`client`]), as the signed-in viewer of a cookie session ([`session`]),
//! so the console shows what the API shows and allows only what it allows.
//! Every form carries a CSRF token, an idempotency key and, for a change
//! to a record, the version it was shown at.

// A page handler's error is the page shown instead (sign in, 403, 404,
// 500), a response, returned as it is.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod charts;
pub mod client;
pub mod context;
pub mod errors;
pub mod forms;
pub mod pages;
pub mod render;
pub mod session;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::state::AppState;
use client::Api;
use pages::{
    applications, audit, auth, claims, customers, dashboard, downloads, integrations, invoices,
    notifications, policies, products, profile, reports, settings, users,
};

/// The console's routes, calling `api` in-process.
pub fn router(api: Api) -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { Redirect::to("/dashboard").into_response() }),
        )
        .route("/assets/{name}", get(assets::asset))
        .route("/brand.css", get(assets::brand_css))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/register", get(auth::register_page).post(auth::register))
        .route("/logout", post(auth::logout))
        .route("/password/reset", get(auth::reset_page).post(auth::reset))
        .route(
            "/password/reset/confirm",
            get(auth::confirm_page).post(auth::confirm),
        )
        .route("/dashboard", get(dashboard::dashboard))
        .route("/products", get(products::list))
        .route(
            "/products/new",
            get(products::new_form).post(products::define),
        )
        .route("/products/{id}", get(products::show))
        .route(
            "/products/{id}/apply",
            get(products::apply_form).post(products::apply),
        )
        .route("/products/{id}/quote", post(products::quote))
        .route("/products/{id}/{action}", post(products::manage))
        .route("/applications", get(applications::list))
        .route("/applications/{id}", get(applications::show))
        .route("/applications/{id}/{decision}", post(applications::decide))
        .route("/policies", get(policies::list))
        .route("/policies/{id}", get(policies::show))
        .route("/policies/{id}/renew", post(policies::renew))
        .route(
            "/policies/{id}/endorse",
            get(policies::endorse_form).post(policies::endorse),
        )
        .route(
            "/policies/{id}/cancel",
            get(policies::cancel_form).post(policies::cancel),
        )
        .route(
            "/policies/{id}/certificate.pdf",
            get(downloads::certificate),
        )
        .route("/invoices", get(invoices::list))
        .route("/invoices/{id}", get(invoices::show))
        .route(
            "/invoices/{id}/pay",
            get(invoices::pay_form).post(invoices::pay),
        )
        .route("/invoices/{id}/void", post(invoices::void))
        .route("/invoices/{id}/invoice.pdf", get(downloads::invoice))
        .route("/payments/{id}", get(invoices::payment))
        .route("/payments/{id}/receipt.pdf", get(downloads::receipt))
        .route("/claims", get(claims::list))
        .route("/claims/new", get(claims::new_form).post(claims::file))
        .route("/claims/{id}", get(claims::show))
        .route(
            "/claims/{id}/documents",
            post(claims::upload).layer(DefaultBodyLimit::max(claims::UPLOAD_LIMIT)),
        )
        .route(
            "/claims/{id}/documents/{document}",
            get(downloads::claim_document),
        )
        .route("/claims/{id}/summary.pdf", get(downloads::claim_summary))
        .route("/claims/{id}/{action}", post(claims::act))
        .route("/customers", get(customers::list))
        .route("/customers/{id}", get(customers::show))
        .route(
            "/customers/{id}/assign-agent",
            post(customers::assign_agent),
        )
        .route("/customers/{id}/statement", get(customers::statement))
        .route("/customers/{id}/statement.pdf", get(downloads::statement))
        .route("/notifications", get(notifications::list))
        .route("/profile", get(profile::show).post(profile::update))
        .route("/profile/preferences", post(profile::preferences))
        .route(
            "/profile/password",
            get(profile::password_form).post(profile::change_password),
        )
        .route("/integrations", get(integrations::index))
        .route("/integrations/logs", get(integrations::records::logs))
        .route(
            "/integrations/webhooks",
            get(integrations::records::webhooks),
        )
        .route(
            "/integrations/webhooks/{id}",
            get(integrations::records::webhook),
        )
        .route(
            "/integrations/providers/{slug}",
            get(integrations::provider),
        )
        .route(
            "/integrations/configure/{slug}",
            get(integrations::forms::configure_form).post(integrations::forms::configure),
        )
        .route("/integrations/configs/{id}", get(integrations::config))
        .route(
            "/integrations/configs/{id}/edit",
            get(integrations::forms::edit_form).post(integrations::forms::edit),
        )
        .route(
            "/integrations/configs/{id}/{action}",
            post(integrations::act),
        )
        .route("/integrations/{category}", get(integrations::category))
        .route("/reports", get(reports::index))
        .route("/reports/{name}", get(reports::show))
        .route("/settings", get(settings::index))
        .route(
            "/settings/{section}",
            get(settings::show).post(settings::save),
        )
        .route("/users", get(users::list))
        .route("/users/new", get(users::new_form).post(users::create))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/{action}", post(users::act))
        .route("/audit", get(audit::stream))
        .route("/audit/verify", get(audit::verify))
        .route("/audit/correlations/{id}", get(audit::correlation))
        .route("/audit/{kind}/{id}", get(audit::aggregate))
        .layer(Extension(api))
}
