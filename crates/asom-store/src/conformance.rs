//! (conformance story: being written)
