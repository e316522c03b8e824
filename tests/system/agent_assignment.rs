//! An agent acts for a customer only while assigned to them — also when
//! the reassignment races the agent's commands. Many rounds; after each,
//! the invariant on the event store: every application an agent submitted
//! or decided was written while the customer's last assignment named that
//! agent.

use domain::Role;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::book::*;

/// Applications per round an agent decides, and as many new ones they
/// submit, while staff reassign the customer.
const PER_ROUND: usize = 8;
const ROUNDS: usize = 8;

/// Walks the customer's assignments and every agent's write on their
/// applications in stream order; each write must come while the agent
/// writing it is the customer's agent. Returns how many writes were seen.
async fn agents_wrote_only_while_assigned(book: &Book, customer: &str) -> usize {
    let rows = sqlx::query!(
        r#"SELECT global_position, aggregate_type, event_type, payload, metadata ->> 'user_id' AS user_id,
                  metadata ->> 'role' AS role
           FROM events
           WHERE (aggregate_type = 'User' AND aggregate_id = $1 AND event_type = 'AgentAssigned')
              OR (aggregate_type = 'Policy'
                  AND event_type IN ('ApplicationSubmitted', 'ApplicationApproved', 'ApplicationRejected')
                  AND aggregate_id IN (SELECT aggregate_id FROM events
                                       WHERE aggregate_type = 'Policy' AND event_type = 'ApplicationSubmitted'
                                         AND payload -> 'ApplicationSubmitted' ->> 'customer_id' = $1))
           ORDER BY global_position"#,
        customer
    )
    .fetch_all(&book.app.db.pool)
    .await
    .unwrap();
    let mut agent: Option<String> = None;
    let mut writes = 0;
    for row in rows {
        if row.aggregate_type == "User" {
            agent = row.payload["AgentAssigned"]["agent_id"]
                .as_str()
                .map(str::to_string);
            continue;
        }
        if row.role.as_deref() != Some("agent") {
            continue;
        }
        writes += 1;
        assert_eq!(
            row.user_id, agent,
            "{} at {} by agent {:?} while the customer's agent was {agent:?}",
            row.event_type, row.global_position, row.user_id
        );
    }
    writes
}

#[tokio::test]
async fn a_reassignment_racing_an_agents_work_lets_nothing_through_after_it() {
    let book = &Book::open().await;
    let (first, first_id) = book.user("first@example.com", Role::Agent).await;
    let (_, second_id) = book.user("second@example.com", Role::Agent).await;
    let (_, customer) = book.user("customer@example.com", Role::Customer).await;
    let assign = |agent: String| {
        let customer = customer.clone();
        async move {
            book.app
                .post(
                    &format!("/customers/{customer}/assign-agent"),
                    Some(&book.staff),
                    &json!({"agent_id": agent}),
                )
                .await
        }
    };
    let mut approved = 0;
    let mut refused = 0;
    for round in 0..ROUNDS {
        let reply = assign(first_id.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let mut applications = Vec::new();
        for _ in 0..PER_ROUND {
            let application = book.apply(&first, Some(&customer), "500000.00").await;
            applications.push(application["id"].as_str().unwrap().to_string());
        }
        let approvals = join_all(applications.iter().map(|id| {
            let first = &first;
            async move {
                let path = format!("/policies/applications/{id}/approve");
                book.app.post(&path, Some(first), &json!({})).await
            }
        }));
        let body = json!({
            "product_id": book.product_id, "customer_id": customer,
            "sum_insured": kes("500000.00"), "start_date": crate::common::TODAY,
        });
        let submissions = join_all(
            (0..PER_ROUND).map(|_| book.app.post("/policies/applications", Some(&first), &body)),
        );
        // The reassignment lands somewhere among the agent's requests.
        let reassignment = async {
            tokio::time::sleep(std::time::Duration::from_millis(3 * round as u64)).await;
            assign(second_id.clone()).await
        };
        let (approvals, submissions, reassigned) =
            tokio::join!(approvals, submissions, reassignment);
        assert_eq!(reassigned.status, StatusCode::OK, "{}", reassigned.body);
        for reply in approvals.iter().chain(&submissions) {
            match reply.status {
                StatusCode::OK | StatusCode::CREATED => approved += 1,
                // No longer theirs: an approval's policy is not found, a
                // submission's customer is not one of theirs.
                StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => refused += 1,
                other => panic!("round {round}: {other} {}", reply.body),
            }
        }
        let writes = agents_wrote_only_while_assigned(book, &customer).await;
        // Every write the agent was told succeeded is in the store, and
        // nothing else of theirs (the applications set up each round too).
        assert_eq!(writes, approved + PER_ROUND * (round + 1), "round {round}");
    }
    // The race was run, not avoided: both sides won sometimes.
    assert!(
        approved > 0 && refused > 0,
        "{approved} accepted, {refused} refused"
    );
}
