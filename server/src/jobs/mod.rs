//! Background work, each job a `run_once(now)` that tests call directly, and a `spawn` that
//! calls it on a timer. A job takes `now` and never reads the clock itself.
pub mod housekeeping;
pub mod rules;
pub mod snapshots;

pub use housekeeping::{Housekeeping, Swept};
pub use rules::Rules;
pub use snapshots::Snapshots;
