"""The evaluator's pack of a programme on the staff side: the page, the job, the command."""
