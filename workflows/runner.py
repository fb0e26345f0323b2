"""How the worker (and the replayer) runs the workflows: sandboxed, with the project's own
modules passed through.

By default the sandbox imports a workflow's module, and everything it imports that is not passed
through, anew for every workflow run: for an order that was ~15 ms of compiling and executing
module code per order (the machine has no `.pyc` to read where PYTHONDONTWRITEBYTECODE is set).
Our modules hold no mutable global state and the decisions are the pure machine's, so they are
passed through; the standard library's nondeterministic calls are still refused in the sandbox,
and the replay tests check determinism (docs/decisions/0024-cheaper-per-order-plumbing.md).
"""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PROJECT_MODULES = ("workflows", "activities", "mentoring")

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*PROJECT_MODULES)
)
