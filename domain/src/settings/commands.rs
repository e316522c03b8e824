//! What an admin may ask of the settings.

use super::{SectionValues, SettingsValues};

/// A command on the settings.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsCommand {
    /// Save one section as a whole.
    Change {
        /// The section's new values (validated here).
        values: SectionValues,
        /// The environment's values, in force where nothing was saved (the
        /// caller reads them; the changed fields are named against what was
        /// in force).
        defaults: SettingsValues,
    },
}
