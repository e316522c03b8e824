//! An integrity alarm: the service found the event store's history broken
//! (an event that fails its seal or chain, a checkpoint missing or not its
//! own) and stopped signing checkpoints over it. It stays raised until an
//! admin acknowledges it, saying why; both are events, so who saw what and
//! when is itself part of the sealed history. Acknowledging does not make
//! the break go away: verification still reports it; it lets checkpoints
//! resume, naming the acknowledged alarm.
//!
//! One alarm per distinct problem: its id is the problem's fingerprint.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// What may be done with an alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrityAlarmCommand {
    /// The service found `problem` (raised once; again changes nothing).
    Raise {
        /// What is broken, in words.
        problem: String,
    },
    /// An admin acknowledges the alarm, saying why it may be left so.
    Acknowledge {
        /// Why (required).
        note: String,
    },
}

/// What happened to an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntegrityAlarmEvent {
    /// The service found a problem and stopped signing checkpoints.
    IntegrityAlarmRaised {
        /// What is broken.
        problem: String,
    },
    /// An admin acknowledged it.
    IntegrityAlarmAcknowledged {
        /// Why.
        note: String,
    },
}

impl DomainEvent for IntegrityAlarmEvent {
    fn event_type(&self) -> String {
        match self {
            IntegrityAlarmEvent::IntegrityAlarmRaised { .. } => "IntegrityAlarmRaised",
            IntegrityAlarmEvent::IntegrityAlarmAcknowledged { .. } => "IntegrityAlarmAcknowledged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1.0".to_string()
    }
}

/// Why an alarm command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityAlarmError {
    /// No alarm under that id.
    #[error("no such integrity alarm")]
    NotFound,
    /// Acknowledged already.
    #[error("the alarm was acknowledged already")]
    AlreadyAcknowledged,
    /// An acknowledgement must say why.
    #[error("note: say why the alarm may be acknowledged")]
    NoteRequired,
}

/// An alarm's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityAlarm {
    /// What is broken (`None` before it was raised).
    pub problem: Option<String>,
    /// The acknowledgement's note, once acknowledged.
    pub acknowledged: Option<String>,
}

impl IntegrityAlarm {
    /// The events `command` gives.
    ///
    /// # Errors
    /// [`IntegrityAlarmError`].
    pub fn decide(
        &self,
        command: IntegrityAlarmCommand,
    ) -> Result<Vec<IntegrityAlarmEvent>, IntegrityAlarmError> {
        match command {
            IntegrityAlarmCommand::Raise { .. } if self.problem.is_some() => Ok(vec![]),
            IntegrityAlarmCommand::Raise { problem } => {
                Ok(vec![IntegrityAlarmEvent::IntegrityAlarmRaised { problem }])
            }
            IntegrityAlarmCommand::Acknowledge { .. } if self.problem.is_none() => {
                Err(IntegrityAlarmError::NotFound)
            }
            IntegrityAlarmCommand::Acknowledge { .. } if self.acknowledged.is_some() => {
                Err(IntegrityAlarmError::AlreadyAcknowledged)
            }
            IntegrityAlarmCommand::Acknowledge { note } if note.trim().is_empty() => {
                Err(IntegrityAlarmError::NoteRequired)
            }
            IntegrityAlarmCommand::Acknowledge { note } => {
                Ok(vec![IntegrityAlarmEvent::IntegrityAlarmAcknowledged {
                    note: note.trim().to_string(),
                }])
            }
        }
    }
}

impl Aggregate for IntegrityAlarm {
    const TYPE: &'static str = "IntegrityAlarm";
    type Command = IntegrityAlarmCommand;
    type Event = IntegrityAlarmEvent;
    type Error = IntegrityAlarmError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            IntegrityAlarmEvent::IntegrityAlarmRaised { problem } => self.problem = Some(problem),
            IntegrityAlarmEvent::IntegrityAlarmAcknowledged { note } => {
                self.acknowledged = Some(note);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    type Given = TestFramework<IntegrityAlarm>;

    fn raised() -> IntegrityAlarmEvent {
        IntegrityAlarmEvent::IntegrityAlarmRaised {
            problem: "checkpoint 3 is missing".into(),
        }
    }

    #[test]
    fn an_alarm_is_raised_once() {
        Given::with(())
            .given_no_previous_events()
            .when(IntegrityAlarmCommand::Raise {
                problem: "checkpoint 3 is missing".into(),
            })
            .then_expect_events(vec![raised()]);
        Given::with(())
            .given(vec![raised()])
            .when(IntegrityAlarmCommand::Raise {
                problem: "checkpoint 3 is missing".into(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_admin_acknowledges_a_raised_alarm_once_saying_why() {
        Given::with(())
            .given(vec![raised()])
            .when(IntegrityAlarmCommand::Acknowledge {
                note: " restored from backup; see ticket 42 ".into(),
            })
            .then_expect_events(vec![IntegrityAlarmEvent::IntegrityAlarmAcknowledged {
                note: "restored from backup; see ticket 42".into(),
            }]);
        Given::with(())
            .given(vec![raised()])
            .when(IntegrityAlarmCommand::Acknowledge { note: " ".into() })
            .then_expect_error(IntegrityAlarmError::NoteRequired);
        Given::with(())
            .given_no_previous_events()
            .when(IntegrityAlarmCommand::Acknowledge { note: "x".into() })
            .then_expect_error(IntegrityAlarmError::NotFound);
        Given::with(())
            .given(vec![
                raised(),
                IntegrityAlarmEvent::IntegrityAlarmAcknowledged { note: "x".into() },
            ])
            .when(IntegrityAlarmCommand::Acknowledge { note: "y".into() })
            .then_expect_error(IntegrityAlarmError::AlreadyAcknowledged);
    }
}
