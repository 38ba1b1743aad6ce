//! The lab's list of objectives (its Conclusion), each passed or failed.

use std::cell::RefCell;

/// The objectives, as the lab's Conclusion names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    FunctionFromBlueprint,
    StreamTriggersFunction,
    MonitorWithMetrics,
    TableWithItems,
    StreamsEnabled,
    TableTriggersFunction,
}

const ALL: [(Objective, &str); 6] = [
    (
        Objective::FunctionFromBlueprint,
        "Created a Lambda function from a blueprint.",
    ),
    (
        Objective::StreamTriggersFunction,
        "Created an Amazon Kinesis Stream and used it to trigger your Lambda function.",
    ),
    (
        Objective::MonitorWithMetrics,
        "Used CloudWatch to monitor your function.",
    ),
    (
        Objective::TableWithItems,
        "Create an Amazon DynamoDB table and inserted sample data.",
    ),
    (
        Objective::StreamsEnabled,
        "Enabled Amazon DynamoDB Streams.",
    ),
    (
        Objective::TableTriggersFunction,
        "Tested and enabled the Lambda function on an Amazon DynamoDB table.",
    ),
];

/// Each objective's checks so far: passed when it has checks and none failed.
#[derive(Debug, Default)]
pub struct Checklist {
    results: RefCell<Vec<(Objective, bool)>>,
}

impl Checklist {
    /// Records one check of `objective`.
    pub fn record(&self, objective: Objective, passed: bool) {
        self.results.borrow_mut().push((objective, passed));
    }

    fn passed(&self, objective: Objective) -> bool {
        let results = self.results.borrow();
        let mut checks = results.iter().filter(|(o, _)| *o == objective).peekable();
        checks.peek().is_some() && checks.all(|(_, passed)| *passed)
    }

    /// True when every objective passed.
    pub fn all_passed(&self) -> bool {
        ALL.iter().all(|(objective, _)| self.passed(*objective))
    }

    /// The checklist, one line per objective.
    pub fn print(&self) {
        println!("\n== Lab objectives");
        for (objective, text) in ALL {
            let mark = if self.passed(objective) { "✓" } else { "✗" };
            println!("   {mark} {text}");
        }
    }
}
