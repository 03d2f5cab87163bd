"""The moto server of ``moto_server.py`` with CloudFormation change sets fixed, for the
deploy tests: ``python moto_cfn_server.py PORT``.

Executing a change set in moto applies the resources but leaves the stack's outputs and
parameters as they were before (empty outputs after a CREATE), which real CloudFormation
never does. The deploy orchestration reads outputs to feed the next stack and compares
parameters to find "no changes", so this refreshes both after each execution, as AWS does.

Stuck stacks, which moto never produces, are stand-ins asked for by tags on create_stack:
``privpi-standin:status`` leaves the new stack in that status (with a failed event for the
resource named by ``privpi-standin:failed``), and ``privpi-standin:delete-fails`` names a
resource that makes every delete of the stack end in DELETE_FAILED, as AWS would.
"""

import sys

from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.server import DomainDispatcherApplication, create_backend_app
from moto_server import serialize_writes
from werkzeug.serving import run_simple

_execute = CloudFormationBackend.execute_change_set


def execute_change_set(self, change_set_name, stack_name=None):
    _execute(self, change_set_name, stack_name)
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    stack.parameters = change_set.parameters
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()


CloudFormationBackend.execute_change_set = execute_change_set

_create_resources = Stack.create_resources
_delete_stack = CloudFormationBackend.delete_stack


def _event(stack, logical_id: str, status: str, reason: str | None = None) -> None:
    own = logical_id == stack.name
    kind = "AWS::CloudFormation::Stack" if own else "AWS::SSM::Parameter"
    physical = stack.stack_id if own else logical_id
    stack.events.append(
        Event(stack.stack_id, stack.name, logical_id, physical, kind, status, reason, None)
    )


def create_resources(self):
    _create_resources(self)
    status = (self.tags or {}).get("privpi-standin:status")
    if status:  # e.g. UPDATE_ROLLBACK_FAILED: an update whose rollback failed too
        _event(self, self.name, "UPDATE_ROLLBACK_IN_PROGRESS", "stand-in")
        failed = self.tags.get("privpi-standin:failed", "Resource")
        _event(self, failed, "UPDATE_FAILED", "stand-in: cannot roll back")
        _event(self, self.name, status)
        self.status = status


def delete_stack(self, name_or_stack_id):
    for stack in list(self.stacks.values()):
        failing = (stack.tags or {}).get("privpi-standin:delete-fails")
        if failing and name_or_stack_id in (stack.name, stack.stack_id):
            _event(stack, stack.name, "DELETE_IN_PROGRESS", "User Initiated")
            _event(stack, failing, "DELETE_FAILED", "stand-in: resource in use")
            _event(stack, stack.name, "DELETE_FAILED")
            stack.status = "DELETE_FAILED"
            return
    _delete_stack(self, name_or_stack_id)


Stack.create_resources = create_resources
CloudFormationBackend.delete_stack = delete_stack

if __name__ == "__main__":
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialize_writes(app), threaded=True, use_reloader=False)
