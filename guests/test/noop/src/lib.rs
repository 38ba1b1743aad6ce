//! Test guest: returns success for any event without looking at it, calling
//! the host or allocating a payload. `eddy bench invoke` measures the runtime's
//! own cost per warm invocation with it (what is left is eddy, not the guest).

use eddy_guest::{Context, Event, Handler, HandlerError, Response};

struct Noop;

impl Handler for Noop {
    fn handle(_event: Event, _context: Context) -> Result<Response, HandlerError> {
        Ok(Response::ok())
    }
}

eddy_guest::export_handler!(Noop);
