//! The triage engine: the clinical catalogue, the matcher and (later) the dialogue. Pure: it
//! takes text, state and `now`, and returns decisions. Architecture invariant: nothing in this
//! module does IO, reads the clock, or names teloxide or sled.

pub mod catalogue;
pub mod classification;
pub mod disposition;
pub mod elapsed;
pub mod matcher;
pub mod normalise;
pub mod readings;
pub mod scope;

pub use catalogue::Catalogue;
pub use classification::{Classification, IntentMatch};
pub use disposition::Disposition;
pub mod dialogue;
