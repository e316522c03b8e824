//! Who runs the temporary cluster. PostgreSQL refuses to run as root, so a
//! root process runs it as an unprivileged system account — the one
//! `TEMPORARY_POSTGRES_USER` names, else `postgres`, else `nobody` — by
//! dropping privileges in the child itself (no `sudo`). Anyone else runs
//! it as themselves.

/// The accounts tried, in order, when running as root and
/// `TEMPORARY_POSTGRES_USER` is not set.
pub const FALLBACK_ACCOUNTS: [&str; 2] = ["postgres", "nobody"];

/// A system account to run the cluster as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Whose the cluster's processes and files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// The user running ifinsure (not root).
    CurrentUser,
    /// Root drops to this account in the child processes.
    Account(Account),
}

impl RunAs {
    /// The account to drop to, if any.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Self::CurrentUser => None,
            Self::Account(account) => Some(account),
        }
    }

    /// The name shown in messages.
    pub fn describe(&self) -> String {
        match self {
            Self::CurrentUser => "the current user".into(),
            Self::Account(account) => format!("the `{}` user", account.name),
        }
    }
}

/// Why no account could be chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    /// The configured account does not exist.
    #[error("TEMPORARY_POSTGRES_USER={0:?} names no user on this machine")]
    Unknown(String),
    /// The configured account is root itself.
    #[error("TEMPORARY_POSTGRES_USER={0:?} is root, and PostgreSQL refuses to run as root")]
    Privileged(String),
    /// None of the fallbacks exist.
    #[error(
        "running as root, the temporary PostgreSQL must run as an unprivileged user, and none of \
         `postgres` or `nobody` exists: create one (`useradd --system postgres`) or name one in \
         TEMPORARY_POSTGRES_USER"
    )]
    NoneFound,
}

/// Chooses whose the cluster is: `euid` is the effective user id of this
/// process, `configured` the `TEMPORARY_POSTGRES_USER` setting, and
/// `lookup` finds an account by name.
///
/// # Errors
/// As root, when the configured account is missing or is root, or when no
/// fallback account exists.
pub fn choose(
    euid: u32,
    configured: Option<&str>,
    lookup: impl Fn(&str) -> Option<Account>,
) -> Result<RunAs, AccountError> {
    if euid != 0 {
        return Ok(RunAs::CurrentUser);
    }
    if let Some(name) = configured {
        let account = lookup(name).ok_or_else(|| AccountError::Unknown(name.into()))?;
        if account.uid == 0 {
            return Err(AccountError::Privileged(name.into()));
        }
        return Ok(RunAs::Account(account));
    }
    FALLBACK_ACCOUNTS
        .iter()
        .filter_map(|name| lookup(name))
        .find(|account| account.uid != 0)
        .map(RunAs::Account)
        .ok_or(AccountError::NoneFound)
}

/// This machine's account of that name (the system's user database,
/// NSS included).
pub fn lookup(name: &str) -> Option<Account> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some(Account {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    })
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, uid: u32) -> Account {
        Account {
            name: name.into(),
            uid,
            gid: uid + 1,
        }
    }

    fn machine<'a>(accounts: &'a [(&'a str, u32)]) -> impl Fn(&str) -> Option<Account> + 'a {
        move |name| {
            accounts
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, uid)| account(n, *uid))
        }
    }

    #[test]
    fn anyone_but_root_runs_the_cluster_as_themselves() {
        let lookup = machine(&[("postgres", 101)]);
        assert_eq!(choose(1000, None, &lookup), Ok(RunAs::CurrentUser));
        assert_eq!(choose(1000, Some("ghost"), &lookup), Ok(RunAs::CurrentUser));
    }

    #[test]
    fn root_runs_it_as_postgres_where_that_user_exists() {
        let lookup = machine(&[("nobody", 65534), ("postgres", 101)]);
        assert_eq!(
            choose(0, None, &lookup),
            Ok(RunAs::Account(account("postgres", 101)))
        );
    }

    #[test]
    fn root_falls_back_to_nobody_without_a_postgres_user() {
        let lookup = machine(&[("nobody", 65534)]);
        assert_eq!(
            choose(0, None, &lookup),
            Ok(RunAs::Account(account("nobody", 65534)))
        );
    }

    #[test]
    fn the_configured_user_wins_and_must_exist_and_not_be_root() {
        let lookup = machine(&[("postgres", 101), ("builder", 1500), ("toor", 0)]);
        assert_eq!(
            choose(0, Some("builder"), &lookup),
            Ok(RunAs::Account(account("builder", 1500)))
        );
        assert_eq!(
            choose(0, Some("ghost"), &lookup),
            Err(AccountError::Unknown("ghost".into()))
        );
        assert_eq!(
            choose(0, Some("toor"), &lookup),
            Err(AccountError::Privileged("toor".into()))
        );
    }

    #[test]
    fn root_with_no_unprivileged_account_is_told_what_to_create() {
        let lookup = machine(&[("postgres", 0)]);
        let error = choose(0, None, &lookup).unwrap_err();
        assert_eq!(error, AccountError::NoneFound);
        assert!(error.to_string().contains("useradd --system postgres"));
    }

    #[test]
    fn this_machines_root_account_is_found() {
        assert_eq!(lookup("root").map(|a| a.uid), Some(0));
        assert_eq!(lookup("no-such-user-on-any-machine"), None);
    }
}
