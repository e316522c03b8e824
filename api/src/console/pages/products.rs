//! Products and applying for one: the list, a product's terms, the apply
//! form (a quote first, then the application; agents and staff choose the
//! customer), and for admins a new product, repricing and retiring.

use axum::extract::RawQuery;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use domain::Role;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{
    filters, guarded, listing, money, refusal, refused_status, shown_again, shown_on_form, Page,
};
use crate::console::client::Call;
use crate::console::context::Console;
use crate::console::errors::Segments;
use crate::console::forms::Form;

/// Who applies (for themselves, or for a customer).
const APPLICANTS: [Role; 4] = [Role::Customer, Role::Agent, Role::Staff, Role::Admin];

/// The lines a product can be in, as the API names them.
const LINES: [&str; 6] = ["motor", "health", "life", "property", "travel", "other"];

/// The lines as choices of a select.
fn line_options() -> Vec<Value> {
    LINES
        .iter()
        .map(|line| {
            let mut label = line.to_string();
            label[..1].make_ascii_uppercase();
            json!({"value": line, "label": label})
        })
        .collect()
}

/// What the apply form asks about the insured item, by line: `(field,
/// label, hint)`; the first is required.
fn insured_fields(line: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match line {
        "motor" => &[
            (
                "registration",
                "Registration",
                "The vehicle's number plate, e.g. KDA 123A",
            ),
            ("make", "Make and model", "Optional, e.g. Toyota Fielder"),
        ],
        "health" => &[(
            "members",
            "Members covered",
            "The names of everyone the cover is for",
        )],
        "life" => &[(
            "life_insured",
            "Life insured",
            "The full name of the person whose life is covered",
        )],
        "property" => &[("address", "Property address", "Where the property is")],
        "travel" => &[("destination", "Destination", "Where you are travelling")],
        _ => &[("item", "Insured item", "What the cover is for")],
    }
}

pub async fn list(console: Console, RawQuery(query): RawQuery) -> Page {
    let (query, shown) = filters(query.as_deref(), &["status", "line"]);
    let body = console.read(&format!("/policies/products?{query}")).await?;
    Ok(console.render(
        "products.html",
        json!({"section": "/products", "list": listing(&body, &shown), "lines": LINES,
               "may_define": console.viewer.role == Role::Admin}),
    ))
}

/// The product page, with `forms` (the admin forms shown again) as
/// `status`.
async fn product_page(console: &Console, id: Uuid, forms: Value, status: StatusCode) -> Page {
    let product = console.read(&format!("/policies/products/{id}")).await?;
    Ok(console.render_status(
        status,
        "product.html",
        json!({
            "section": "/products",
            "product": product,
            "may_apply": APPLICANTS.contains(&console.viewer.role),
            "may_manage": console.viewer.role == Role::Admin,
            "forms": forms,
        }),
    ))
}

pub async fn show(console: Console, Segments(id): Segments<Uuid>) -> Page {
    product_page(&console, id, json!({}), StatusCode::OK).await
}

/// The apply form, as typed (`form`), with the quote when one was asked
/// for.
struct Apply<'a> {
    product: &'a Value,
    form: Value,
    quote: Option<Value>,
    status: StatusCode,
}

async fn apply_page(console: &Console, apply: Apply<'_>) -> Page {
    let line = apply.product["line"].as_str().unwrap_or("other");
    let mut data = json!({
        "section": "/products",
        "product": apply.product,
        "form": apply.form,
        "quote": apply.quote,
        "insured_fields": insured_fields(line).iter().enumerate().map(|(i, (name, label, hint))| {
            json!({"name": format!("insured_{name}"), "label": label, "hint": hint, "required": i == 0})
        }).collect::<Vec<_>>(),
        "today": console.state.clock.today(),
    });
    if console.viewer.role != Role::Customer {
        let search = apply.form["values"]["customer_q"]
            .as_str()
            .unwrap_or_default();
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", search)
            .append_pair("limit", "50")
            .finish();
        let customers = console.read(&format!("/customers?{query}")).await?;
        let mut options: Vec<Value> = customers["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                json!({"value": c["id"], "label": format!("{} ({})",
                    c["full_name"].as_str().unwrap_or_default(), c["email"].as_str().unwrap_or_default())})
            })
            .collect();
        // The customer already chosen stays a choice while searching.
        if let Some(chosen) = apply.form["values"]["customer_id"].as_str() {
            if !options.iter().any(|o| o["value"] == chosen) {
                if let Ok(customer) = console.read(&format!("/customers/{chosen}")).await {
                    options.insert(0, json!({"value": chosen, "label": format!("{} ({})",
                        customer["full_name"].as_str().unwrap_or_default(), customer["email"].as_str().unwrap_or_default())}));
                }
            }
        }
        data["customers"] = json!(options);
        data["customer_search"] = json!(search);
    }
    Ok(console.render_status(apply.status, "apply.html", data))
}

async fn applicable_product(console: &Console, id: Uuid) -> Result<Value, Response> {
    console.require(&APPLICANTS)?;
    console.read(&format!("/policies/products/{id}")).await
}

pub async fn apply_form(console: Console, Segments(id): Segments<Uuid>) -> Page {
    let product = applicable_product(&console, id).await?;
    let form = json!({"values": {"start_date": console.state.clock.today()}, "errors": {}});
    apply_page(
        &console,
        Apply {
            product: &product,
            form,
            quote: None,
            status: StatusCode::OK,
        },
    )
    .await
}

/// The application's insured item from the form, and the message for a
/// required one left blank.
fn insured(form: &Form, line: &str) -> (Value, Option<(String, String)>) {
    let mut item = Map::new();
    let mut missing = None;
    for (i, (name, label, _)) in insured_fields(line).iter().enumerate() {
        let input = format!("insured_{name}");
        let value = form.text(&input);
        if value.is_empty() {
            if i == 0 {
                missing = Some((input, format!("Enter the {}", label.to_lowercase())));
            }
        } else {
            item.insert((*name).to_string(), json!(value));
        }
    }
    (Value::Object(item), missing)
}

/// The form's sum insured and start date, as the quote takes them.
fn quote_query(form: &Form) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "sum_insured",
            &form.text("sum_insured").replace([',', ' '], ""),
        )
        .append_pair("start_date", &form.text("start_date"))
        .finish()
}

/// `POST /products/{id}/quote`: the apply form again, with the premium
/// the product would charge (nothing recorded); also finds customers.
pub async fn quote(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let product = applicable_product(&console, id).await?;
    let finding = form.get("find_customer").is_some();
    let mut shown = json!({"values": form.values(), "errors": {}});
    let mut quote = None;
    let mut status = StatusCode::OK;
    if !finding {
        let reply = console
            .send(Call::get(
                Some(&console.viewer),
                format!("/policies/products/{id}/quote?{}", quote_query(&form)),
            ))
            .await?;
        if reply.ok() {
            quote = Some(reply.body);
        } else if shown_on_form(&reply) {
            shown = refusal(
                &form,
                &reply,
                &[("sum_insured", "sum_insured"), ("start_date", "start_date")],
            );
            status = refused_status(&reply);
        } else {
            return Err(console.refused(&reply));
        }
    }
    apply_page(
        &console,
        Apply {
            product: &product,
            form: shown,
            quote,
            status,
        },
    )
    .await
}

/// `POST /products/{id}/apply`: submits the application, then its page.
pub async fn apply(console: Console, Segments(id): Segments<Uuid>, form: Form) -> Page {
    guarded(&console, &form)?;
    let product = applicable_product(&console, id).await?;
    let line = product["line"].as_str().unwrap_or("other");
    let currency = product["currency"].as_str().unwrap_or_default();
    let (item, missing) = insured(&form, line);
    let mut body = json!({
        "product_id": id,
        "sum_insured": money(&form.text("sum_insured"), currency),
        "start_date": form.text("start_date"),
        "insured": item,
    });
    if console.viewer.role != Role::Customer {
        match form.get("customer_id") {
            Some(customer) => body["customer_id"] = json!(customer),
            None => {
                let mut errors = std::collections::BTreeMap::new();
                errors.insert(
                    "customer_id".to_string(),
                    "Choose the customer the cover is for".to_string(),
                );
                let shown = crate::console::forms::again(&form, &errors);
                return apply_page(
                    &console,
                    Apply {
                        product: &product,
                        form: shown,
                        quote: None,
                        status: StatusCode::UNPROCESSABLE_ENTITY,
                    },
                )
                .await;
            }
        }
    }
    if let Some((input, message)) = missing {
        let mut errors = std::collections::BTreeMap::new();
        errors.insert(input, message);
        let shown = crate::console::forms::again(&form, &errors);
        return apply_page(
            &console,
            Apply {
                product: &product,
                form: shown,
                quote: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
            },
        )
        .await;
    }
    let reply = console
        .send(Call::post(Some(&console.viewer), "/policies/applications", &body).from_form(&form))
        .await?;
    if reply.ok() {
        let application = reply.body["id"].as_str().unwrap_or_default();
        return Ok(console.done(
            &format!("/applications/{application}"),
            "Application submitted",
        ));
    }
    let status = shown_again(&console, &reply)?;
    let first_insured = format!("insured_{}", insured_fields(line)[0].0);
    let shown = refusal(
        &form,
        &reply,
        &[
            ("sum_insured", "sum_insured"),
            ("start_date", "start_date"),
            ("customer_id", "customer_id"),
            ("insured", &first_insured),
        ],
    );
    apply_page(
        &console,
        Apply {
            product: &product,
            form: shown,
            quote: None,
            status,
        },
    )
    .await
}

/// The new-product form (admins).
pub async fn new_form(console: Console) -> Page {
    console.require(&[Role::Admin])?;
    Ok(console.render(
        "product_new.html",
        json!({"section": "/products", "line_options": line_options(), "form": {"values": {"currency": "KES", "term_months": "12"}, "errors": {}}}),
    ))
}

/// `POST /products/new`: defines a product.
pub async fn define(console: Console, form: Form) -> Page {
    guarded(&console, &form)?;
    console.require(&[Role::Admin])?;
    let currency = form.text("currency").to_uppercase();
    let body = json!({
        "code": form.text("code"),
        "name": form.text("name"),
        "line": form.text("line"),
        "description": form.text("description"),
        "currency": currency,
        "rate": form.text("rate"),
        "minimum_premium": money(&form.text("minimum_premium"), &currency),
        "sum_insured_min": money(&form.text("sum_insured_min"), &currency),
        "sum_insured_max": money(&form.text("sum_insured_max"), &currency),
        "term_months": form.text("term_months").parse::<u32>().map_or(json!(form.text("term_months")), |m| json!(m)),
    });
    let reply = console
        .send(Call::post(Some(&console.viewer), "/policies/products", &body).from_form(&form))
        .await?;
    if reply.ok() {
        let id = reply.body["id"].as_str().unwrap_or_default();
        return Ok(console.done(&format!("/products/{id}"), "Product created"));
    }
    let status = shown_again(&console, &reply)?;
    let fields = [
        "code",
        "name",
        "line",
        "description",
        "currency",
        "rate",
        "minimum_premium",
        "sum_insured_min",
        "sum_insured_max",
        "term_months",
    ];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|f| (*f, *f)).collect();
    Ok(console.render_status(
        status,
        "product_new.html",
        json!({"section": "/products", "line_options": line_options(), "form": refusal(&form, &reply, &pairs)}),
    ))
}

/// `POST /products/{id}/reprice` and `/retire` (admins).
pub async fn manage(
    console: Console,
    Segments((id, action)): Segments<(Uuid, String)>,
    form: Form,
) -> Page {
    guarded(&console, &form)?;
    let (body, flash, fields): (Value, &str, &[(&str, &str)]) = match action.as_str() {
        "reprice" => {
            let product = console.read(&format!("/policies/products/{id}")).await?;
            let currency = product["currency"].as_str().unwrap_or_default();
            (
                json!({"rate": form.text("rate"), "minimum_premium": money(&form.text("minimum_premium"), currency)}),
                "Product repriced: new applications get the new rate",
                &[("rate", "rate"), ("minimum_premium", "minimum_premium")],
            )
        }
        "retire" => {
            let mut body = json!({});
            if let Some(reason) = form.get("reason") {
                body["reason"] = json!(reason.trim());
            }
            (
                body,
                "Product retired: it takes no new applications",
                &[("reason", "reason")],
            )
        }
        _ => return Err(console.error(StatusCode::NOT_FOUND)),
    };
    let call = Call::new(
        Method::POST,
        Some(&console.viewer),
        format!("/policies/products/{id}/{action}"),
    )
    .json(&body)
    .from_form(&form);
    let reply = console.send(call).await?;
    if reply.ok() {
        return Ok(console.done(&format!("/products/{id}"), flash));
    }
    let status = shown_again(&console, &reply)?;
    let forms = json!({ action: refusal(&form, &reply, fields) });
    product_page(&console, id, forms, status).await
}
