//! Roles and what they may do. Shared: imports no feature.
use serde::{Deserialize, Serialize};

/// Who a user is to the console. Separation of duties: admins run accounts and config but do not
/// trade; traders decide signals; risk pauses anything and changes limits; auditors read all and
/// change nothing; investors see only the investor portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Trader,
    Risk,
    Auditor,
    Investor,
}

/// What a request wants to do; every server function and API route names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    /// Dashboard, signals, audit trail, lineage, config and its history (read).
    ViewOperations,
    /// The investor portal (read).
    ViewInvestor,
    /// Approve, reject or acknowledge a signal.
    DecideSignals,
    /// Pause or resume one automation.
    PauseAutomation,
    /// Pause or resume everything.
    PauseGlobal,
    /// Change the configuration (with a reason).
    ChangeConfig,
    /// Users, API tokens, login attempts.
    ManageUsers,
    /// Compliance issues and limit utilisation (read; a trader sees his automations' issues).
    ViewCompliance,
    /// Acknowledge compliance issues (a trader: his automations'; risk: all), and resolve or
    /// waive them (risk only).
    ReviewCompliance,
    /// Download the monthly compliance report and the daily trade report.
    ComplianceReports,
    /// Generate a weekly research report now (the schedule generates them anyway).
    GenerateReports,
    /// Acknowledge and silence alerts (a trader: his automations'; risk: all).
    ActOnAlerts,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Trader, Role::Risk, Role::Auditor, Role::Investor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Trader => "trader",
            Role::Risk => "risk",
            Role::Auditor => "auditor",
            Role::Investor => "investor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match p {
            ViewOperations => matches!(self, Admin | Trader | Risk | Auditor),
            ViewInvestor => true,
            DecideSignals => matches!(self, Trader),
            PauseAutomation => matches!(self, Trader | Risk),
            PauseGlobal => matches!(self, Risk),
            ChangeConfig => matches!(self, Admin | Risk),
            ManageUsers => matches!(self, Admin),
            ViewCompliance => matches!(self, Admin | Trader | Risk | Auditor),
            ReviewCompliance => matches!(self, Trader | Risk),
            ComplianceReports => matches!(self, Admin | Risk | Auditor),
            GenerateReports => matches!(self, Admin | Risk),
            ActOnAlerts => matches!(self, Trader | Risk),
        }
    }
}

