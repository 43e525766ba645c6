//! What a user sent, as the domain carries it: opaque. The front end that
//! received a message puts in what the renderers read back (the content of
//! the message, in the wire types of the front ends); the domain archives
//! the serialised form it is given beside it and never looks inside.

use std::any::Any;
use std::fmt;

/// A message's content, opaque to `channel/`.
pub struct Payload(Box<dyn Any + Send + Sync>);

impl Payload {
    pub fn new<T: Any + Send + Sync>(content: T) -> Self {
        Payload(Box::new(content))
    }

    /// The content, if it is a `T` (what the front ends put in).
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Payload(..)")
    }
}
