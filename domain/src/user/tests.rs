//! Given/when/then tests of every user command and rejection.

use cqrs_es::test::TestFramework;

use super::*;
use crate::validation::ValidationErrors;

type UserTestFramework = TestFramework<User>;

fn email() -> EmailAddress {
    EmailAddress::parse("amina@example.co.ke").unwrap()
}

fn registration(role: Role) -> Registration {
    Registration {
        email: email(),
        full_name: " Amina Njeri ".into(),
        phone_number: Some(PhoneNumber::parse("+254712345678").unwrap()),
        role,
    }
}

fn registered(role: Role) -> UserEvent {
    UserEvent::UserRegistered {
        email: email(),
        full_name: "Amina Njeri".into(),
        phone_number: Some(PhoneNumber::parse("+254712345678").unwrap()),
        role,
    }
}

#[test]
fn registering_records_the_trimmed_profile() {
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::Register(registration(Role::Customer)))
        .then_expect_events(vec![registered(Role::Customer)]);
}

#[test]
fn registering_twice_is_refused() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::Register(registration(Role::Customer)))
        .then_expect_error(UserError::AlreadyRegistered);
}

#[test]
fn a_blank_name_is_refused() {
    let mut r = registration(Role::Customer);
    r.full_name = "  ".into();
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::Register(r))
        .then_expect_error(UserError::Validation(ValidationErrors::single(
            "full_name",
            "must be 1 to 200 characters",
        )));
}

#[test]
fn changing_the_role_records_before_and_after() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::ChangeRole {
            role: Role::Agent,
            customers_served: 0,
            policies_held: 0,
        })
        .then_expect_events(vec![UserEvent::RoleChanged {
            from: Role::Customer,
            to: Role::Agent,
        }]);
}

#[test]
fn an_agent_who_serves_customers_keeps_the_role() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Agent)])
        .when(UserCommand::ChangeRole {
            role: Role::Staff,
            customers_served: 3,
            policies_held: 0,
        })
        .then_expect_error(UserError::ServesCustomers(3));
}

#[test]
fn a_customer_who_holds_policies_stays_a_customer() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::ChangeRole {
            role: Role::Agent,
            customers_served: 0,
            policies_held: 1,
        })
        .then_expect_error(UserError::HoldsPolicies(1));
}

#[test]
fn counts_that_do_not_concern_the_current_role_do_not_stop_a_change() {
    // A staff member has no customers to serve or policies to hold as
    // staff; counts the caller passes for them change nothing.
    UserTestFramework::with(())
        .given(vec![registered(Role::Staff)])
        .when(UserCommand::ChangeRole {
            role: Role::Agent,
            customers_served: 2,
            policies_held: 2,
        })
        .then_expect_events(vec![UserEvent::RoleChanged {
            from: Role::Staff,
            to: Role::Agent,
        }]);
}

#[test]
fn changing_to_the_same_role_records_nothing() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Staff)])
        .when(UserCommand::ChangeRole {
            role: Role::Staff,
            customers_served: 0,
            policies_held: 0,
        })
        .then_expect_events(vec![]);
}

#[test]
fn changing_the_role_of_nobody_is_not_found() {
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::ChangeRole {
            role: Role::Admin,
            customers_served: 0,
            policies_held: 0,
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn assigning_an_agent_records_the_previous_one() {
    let first = UserId::new();
    let second = UserId::new();
    UserTestFramework::with(())
        .given(vec![
            registered(Role::Customer),
            UserEvent::AgentAssigned {
                agent_id: first,
                previous_agent_id: None,
            },
        ])
        .when(UserCommand::AssignAgent {
            agent_id: second,
            agent_role: Role::Agent,
        })
        .then_expect_events(vec![UserEvent::AgentAssigned {
            agent_id: second,
            previous_agent_id: Some(first),
        }]);
}

#[test]
fn assigning_the_same_agent_again_records_nothing() {
    let agent = UserId::new();
    UserTestFramework::with(())
        .given(vec![
            registered(Role::Customer),
            UserEvent::AgentAssigned {
                agent_id: agent,
                previous_agent_id: None,
            },
        ])
        .when(UserCommand::AssignAgent {
            agent_id: agent,
            agent_role: Role::Agent,
        })
        .then_expect_events(vec![]);
}

#[test]
fn only_customers_get_agents() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Staff)])
        .when(UserCommand::AssignAgent {
            agent_id: UserId::new(),
            agent_role: Role::Agent,
        })
        .then_expect_error(UserError::NotACustomer);
}

#[test]
fn only_agents_can_be_assigned() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::AssignAgent {
            agent_id: UserId::new(),
            agent_role: Role::Staff,
        })
        .then_expect_error(UserError::NotAnAgent);
}

#[test]
fn assigning_an_agent_to_nobody_is_not_found() {
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::AssignAgent {
            agent_id: UserId::new(),
            agent_role: Role::Agent,
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn unsubscribing_stops_reminders_and_marketing_on_that_channel_only_once() {
    use crate::notifications::{Channel, ChannelPreferences, Preferences};
    let expected = Preferences {
        email: ChannelPreferences {
            reminders: false,
            marketing: false,
        },
        ..Preferences::default()
    };
    let set = UserEvent::NotificationPreferencesSet {
        preferences: expected,
    };
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::Unsubscribe(Channel::Email))
        .then_expect_events(vec![set.clone()]);
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer), set])
        .when(UserCommand::Unsubscribe(Channel::Email))
        .then_expect_events(vec![]);
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::Unsubscribe(Channel::Email))
        .then_expect_error(UserError::NotFound);
}

#[test]
fn a_person_changes_their_name_and_phone_or_removes_the_phone() {
    let phone = PhoneNumber::parse("+254722000111").unwrap();
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::UpdateProfile {
            full_name: Some(" Amina Wanjiru ".into()),
            phone_number: Some(Some(phone.clone())),
        })
        .then_expect_events(vec![UserEvent::ProfileUpdated {
            full_name: "Amina Wanjiru".into(),
            phone_number: Some(phone),
        }]);
    // Only the phone, removed: the name stays.
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::UpdateProfile {
            full_name: None,
            phone_number: Some(None),
        })
        .then_expect_events(vec![UserEvent::ProfileUpdated {
            full_name: "Amina Njeri".into(),
            phone_number: None,
        }]);
    // Nothing changed, nothing recorded; a blank name refused.
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::UpdateProfile {
            full_name: Some("Amina Njeri".into()),
            phone_number: None,
        })
        .then_expect_events(vec![]);
    let mut blank = ValidationErrors::new();
    blank.add("full_name", "must be 1 to 200 characters");
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::UpdateProfile {
            full_name: Some("  ".into()),
            phone_number: None,
        })
        .then_expect_error(UserError::Validation(blank));
}

#[test]
fn a_password_change_is_recorded_for_a_registered_user_only() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Customer)])
        .when(UserCommand::RecordPasswordChange)
        .then_expect_events(vec![UserEvent::PasswordChanged]);
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::RecordPasswordChange)
        .then_expect_error(UserError::NotFound);
}

#[test]
fn deactivating_records_the_reason_trimmed() {
    UserTestFramework::with(())
        .given(vec![registered(Role::Agent)])
        .when(UserCommand::Deactivate {
            reason: Some(" left the agency ".into()),
        })
        .then_expect_events(vec![UserEvent::UserDeactivated {
            reason: Some("left the agency".into()),
        }]);
}

#[test]
fn deactivating_twice_or_reactivating_an_active_account_records_nothing() {
    UserTestFramework::with(())
        .given(vec![
            registered(Role::Agent),
            UserEvent::UserDeactivated { reason: None },
        ])
        .when(UserCommand::Deactivate { reason: None })
        .then_expect_events(vec![]);
    UserTestFramework::with(())
        .given(vec![registered(Role::Agent)])
        .when(UserCommand::Reactivate)
        .then_expect_events(vec![]);
}

#[test]
fn a_deactivated_account_is_reactivated() {
    UserTestFramework::with(())
        .given(vec![
            registered(Role::Staff),
            UserEvent::UserDeactivated {
                reason: Some("on leave".into()),
            },
        ])
        .when(UserCommand::Reactivate)
        .then_expect_events(vec![UserEvent::UserReactivated]);
}

#[test]
fn an_unknown_account_or_an_overlong_reason_is_refused() {
    UserTestFramework::with(())
        .given_no_previous_events()
        .when(UserCommand::Deactivate { reason: None })
        .then_expect_error(UserError::NotFound);
    let mut errors = ValidationErrors::new();
    errors.add("reason", "must be at most 500 characters");
    UserTestFramework::with(())
        .given(vec![registered(Role::Agent)])
        .when(UserCommand::Deactivate {
            reason: Some("x".repeat(501)),
        })
        .then_expect_error(UserError::Validation(errors));
}
