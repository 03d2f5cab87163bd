"""The moto server of ``moto_server.py`` with CloudFormation change sets fixed, for the
deploy tests: ``python moto_cfn_server.py PORT``.

Executing a change set in moto applies the resources but leaves the stack's outputs and
parameters as they were before (empty outputs after a CREATE), which real CloudFormation
never does. The deploy orchestration reads outputs to feed the next stack and compares
parameters to find "no changes", so this refreshes both after each execution, as AWS does.
"""

import sys

from moto.cloudformation.models import CloudFormationBackend
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

if __name__ == "__main__":
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialize_writes(app), threaded=True, use_reloader=False)
