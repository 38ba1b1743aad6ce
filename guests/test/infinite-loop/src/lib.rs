//! Test guest: never returns. Only fuel exhaustion or the wall-clock timeout
//! (epoch interruption) can end it; the host must carry on afterwards.

use eddy_guest::{Context, Event, Handler, HandlerError, Response};

struct InfiniteLoop;

impl Handler for InfiniteLoop {
    fn handle(_event: Event, _context: Context) -> Result<Response, HandlerError> {
        println!("looping forever");
        let mut counter: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving the loop side-effect
            // free and turning it into a bare `loop {}` (still endless, but a
            // real counting loop is what a buggy handler looks like).
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

eddy_guest::export_handler!(InfiniteLoop);
