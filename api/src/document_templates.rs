//! The document templates (`api/templates/documents/`, minijinja), compiled
//! into the binary: each renders a document's facts and the insurer's
//! branding (`brand`) to the line markup of [`crate::pdf_markup`]. Every
//! printed value is kept to one line and cannot split a field or cell; a
//! missing fact is an error, not a blank; `none` prints as nothing.

use std::sync::Arc;

use domain::branding::Branding;
use minijinja::value::Value as TemplateValue;
use minijinja::Environment;
use projections::live_settings::LiveSettings;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pdf_markup::{inline, parse, Block};

/// The documents, by name.
pub const DOCUMENTS: [(&str, &str); 5] = [
    (
        "certificate",
        include_str!("../templates/documents/certificate.txt"),
    ),
    (
        "invoice",
        include_str!("../templates/documents/invoice.txt"),
    ),
    (
        "receipt",
        include_str!("../templates/documents/receipt.txt"),
    ),
    (
        "claim_summary",
        include_str!("../templates/documents/claim_summary.txt"),
    ),
    (
        "statement",
        include_str!("../templates/documents/statement.txt"),
    ),
];

/// Why a document could not be drawn up.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template failed (unknown name, missing fact, syntax).
    #[error("document template {name}: {source}")]
    Render {
        /// The template.
        name: String,
        /// What failed.
        source: minijinja::Error,
    },
    /// It rendered something that is not markup.
    #[error("document template {name}: {source}")]
    Markup {
        /// The template.
        name: String,
        /// The bad line.
        source: crate::pdf_markup::MarkupError,
    },
}

/// Where the branding printed comes from.
enum Brand {
    /// Given once (tests, tools).
    Fixed(Branding),
    /// The settings in force, read at each document.
    Live(Arc<LiveSettings>),
}

/// The templates with the branding they print.
pub struct DocumentTemplates {
    env: Environment<'static>,
    brand: Brand,
    /// The templates' own digest (the branding's is added per document).
    digest: Sha256,
}

impl DocumentTemplates {
    /// The compiled-in templates under `branding`. A template that does not
    /// compile is reported when it is rendered (each is tested).
    pub fn new(branding: Branding) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(|out, _state, value: &TemplateValue| {
            if !value.is_none() {
                out.write_str(&inline(&value.to_string()))?;
            }
            Ok(())
        });
        let mut digest = Sha256::new();
        for (name, source) in DOCUMENTS {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, name, "document template does not compile");
            }
            digest.update(name.as_bytes());
            digest.update(source.as_bytes());
        }
        Self {
            env,
            brand: Brand::Fixed(branding),
            digest,
        }
    }

    /// These templates, printing the branding of the settings in force at
    /// each document.
    pub fn following(mut self, settings: Arc<LiveSettings>) -> Self {
        self.brand = Brand::Live(settings);
        self
    }

    /// The insurer's branding now.
    pub fn branding(&self) -> Branding {
        match &self.brand {
            Brand::Fixed(branding) => branding.clone(),
            Brand::Live(settings) => settings.current().brand(),
        }
    }

    /// Changes when a template or the branding does (part of every cached
    /// document's key, so a document drawn after a change of brand is
    /// drawn again).
    pub fn fingerprint(&self) -> String {
        self.fingerprint_for(&self.branding())
    }

    /// The fingerprint of these templates printing `branding`.
    pub fn fingerprint_for(&self, branding: &Branding) -> String {
        let mut digest = self.digest.clone();
        digest.update(serde_json::to_vec(branding).unwrap_or_default());
        domain::signatures::hex(&digest.finalize()[..8])
    }

    /// The blocks of document `name` for `facts`.
    ///
    /// # Errors
    /// [`TemplateError`] when the template fails or renders bad markup.
    pub fn render(&self, name: &str, facts: &impl Serialize) -> Result<Vec<Block>, TemplateError> {
        self.render_branded(name, facts, &self.branding())
    }

    /// The blocks of document `name` for `facts` under `branding`.
    ///
    /// # Errors
    /// [`TemplateError`] when the template fails or renders bad markup.
    pub fn render_branded(
        &self,
        name: &str,
        facts: &impl Serialize,
        branding: &Branding,
    ) -> Result<Vec<Block>, TemplateError> {
        let failed = |source| TemplateError::Render {
            name: name.to_string(),
            source,
        };
        let template = self.env.get_template(name).map_err(failed)?;
        let context = minijinja::context! {
            brand => TemplateValue::from_serialize(branding),
            ..TemplateValue::from_serialize(facts)
        };
        let markup = template.render(context).map_err(failed)?;
        parse(&markup).map_err(|source| TemplateError::Markup {
            name: name.to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn templates() -> DocumentTemplates {
        DocumentTemplates::new(Branding {
            support_phone: Some("+254 700 000 000".into()),
            ..Branding::default()
        })
    }

    /// Realistic facts for every document.
    fn facts(name: &str) -> serde_json::Value {
        match name {
            "certificate" => json!({"policy_number": "POL-2026-000001", "holder": "Wanjiku Kamau",
                "product_name": "Motor Private", "product_code": "MOTOR", "start_date": "25 Nov 2026",
                "end_date": "24 Nov 2027", "term": 1, "sum_insured": "KES 1,000,000.00",
                "premium": "KES 35,000.00", "status": "active", "version": 4,
                "insured": [{"label": "registration", "value": "KDA 123A"}]}),
            "invoice" => {
                json!({"invoice_number": "INV-2026-000001", "policy_number": "POL-2026-000001",
                "customer": "Wanjiku Kamau", "issued_on": "25 Nov 2026", "due_date": "9 Dec 2026",
                "status": "open", "description": "New business premium, term 1", "amount": "KES 35,000.00",
                "payments": [{"provider": "mpesa", "reference": "QK12AB", "amount": "KES 5,000.00"}],
                "refunds": [], "paid": "KES 5,000.00", "balance": "KES 30,000.00", "credit": null})
            }
            "receipt" => {
                json!({"customer": "Wanjiku Kamau", "amount": "KES 35,000.00", "provider": "mpesa",
                "reference": "QK12AB", "invoice_number": "INV-2026-000001", "policy_number": "POL-2026-000001",
                "payment_id": "0193", "recorded": "25 Nov 2026", "refunded": null})
            }
            "claim_summary" => json!({"claim_number": "CLM-2026-000001", "status": "approved",
                "policy_number": "POL-2026-000001", "claimant": "Wanjiku Kamau", "incident_date": "20 Nov 2026",
                "filed_on": "25 Nov 2026", "claimed": "KES 120,000.00", "approved": "KES 95,000.00",
                "paid": "KES 0.00", "documents": 2, "description": "Hit from behind\nat a junction",
                "rejection_reason": null, "payouts": [{"provider": "mpesa", "reference": null,
                "status": "pending", "amount": "KES 95,000.00"}],
                "notes": [{"label": "Note", "text": "Garage | quote"}]}),
            "statement" => {
                json!({"customer": "Wanjiku Kamau", "from": "1 Nov 2026", "to": "30 Nov 2026",
                "statements": [{"currency": "KES", "opening_balance": "KES 0.00",
                    "lines": [{"date": "25 Nov 2026", "description": "Invoice INV-2026-000001",
                        "debit": "KES 35,000.00", "credit": null, "balance": "KES 35,000.00"}],
                    "total_debits": "KES 35,000.00", "total_credits": "KES 0.00",
                    "closing_balance": "KES 35,000.00"}]})
            }
            other => panic!("no facts for {other}"),
        }
    }

    #[test]
    fn every_document_renders_its_facts_and_the_branding() {
        let templates = templates();
        for (name, _) in DOCUMENTS {
            let blocks = templates.render(name, &facts(name)).unwrap();
            assert!(matches!(blocks.first(), Some(Block::Title(_))), "{name}");
            let text = format!("{blocks:?}");
            assert!(text.contains("support@ifinsure.example"), "{name}: {text}");
            assert!(text.contains("+254 700 000 000"), "{name}");
            assert!(!text.contains("none"), "{name} printed a none: {text}");
        }
    }

    #[test]
    fn values_stay_on_their_line_and_in_their_cell() {
        let blocks = templates()
            .render("claim_summary", &facts("claim_summary"))
            .unwrap();
        assert!(blocks.contains(&Block::Field(
            "Description".into(),
            "Hit from behind at a junction".into()
        )));
        assert!(blocks.contains(&Block::Field("Note".into(), "Garage / quote".into())));
        assert!(blocks.contains(&Block::Row(vec![
            "mpesa".into(),
            String::new(),
            "pending".into(),
            "KES 95,000.00".into()
        ])));
    }

    #[test]
    fn a_missing_fact_is_an_error() {
        let mut certificate = facts("certificate");
        certificate.as_object_mut().unwrap().remove("holder");
        assert!(templates().render("certificate", &certificate).is_err());
    }

    #[test]
    fn the_fingerprint_follows_the_branding() {
        let other = DocumentTemplates::new(Branding {
            name: "Jubilee".into(),
            ..Branding::default()
        });
        assert_ne!(templates().fingerprint(), other.fingerprint());
        assert_eq!(templates().fingerprint(), templates().fingerprint());
    }
}
