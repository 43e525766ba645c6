//! Entry points for the libFuzzer targets (fuzz/, docs/security.md,
//! "Fuzzing"). Compiled only with `--cfg fuzzing`, which scripts/fuzz
//! passes: crate-private parsers re-exported as they are, nothing new and
//! nothing that is API.

use xmpp_parsers::data_forms::DataForm;

use crate::channel::config::ConfigPatch;
use crate::error::Result;

/// The link's stanza framer (`link::framer`).
pub use crate::link::framer::{Dropped, Framer, MAX_TOKEN};
/// Wire parsing (`xmpp`): MAM queries, MIX core payloads, muc#admin items,
/// message content and presence filtering, JID attributes, error replies.
pub use crate::xmpp::{bare_or_domain, content, mam, mix, muc_admin, presence, reply};
/// Nicknames (PRECIS Nickname profile).
pub use crate::channel::nick::normalise as nick;
/// The muc#owner set (a configuration form, cancel, or destroy).
pub use crate::muc::owner_form::{parse_set as muc_owner_set, OwnerSet};
/// The MIX-ANON preference form (join, `<user-preference/>`).
pub use crate::mix::anon::{parse_form as mix_preferences, submitted as mix_preference_form};

/// The MIX information node's form (a publish by an owner).
pub fn mix_info(form: &DataForm) -> Result<ConfigPatch> {
    crate::mix::info::parse(form)
}
