"""Processes a traced program starts get traces of their own: a fork child
(which frees a block its parent allocated), an exec'd program, and the
pre-exec image of the child that execs. (A fork child writes its trace when it
first allocates, so forker's exec child allocates before it execs.)"""

import os
import unittest

from heapgap_testlib import TracedSampleTest, report_json, sample, summarize


class ChildrenTest(TracedSampleTest):
    def test_fork_and_exec_children(self):
        result, traces = self.trace_of("forker", [sample("forker"), sample("leaky")])
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(len(traces), 4, traces)
        reports = [report_json(self, t) for t in traces]
        by_role = {}
        for data in reports:
            process = data["process"]
            exe = os.path.basename(process["exe"])
            if exe == "leaky":
                role = "exec'd program"
            elif not process["forked"]:
                role = "parent"
            elif process["end"] == "exec":
                role = "exec child"
            else:
                role = "fork child"
            self.assertNotIn(role, by_role, f"two traces look like the {role}")
            by_role[role] = data
        self.assertEqual(set(by_role), {"parent", "fork child", "exec child", "exec'd program"})

        parent = by_role["parent"]
        parent_pid = parent["process"]["pid"]
        self.assertEqual(parent["process"]["end"], "exit")
        self.assertEqual((parent["leaks"]["bytes"], parent["leaks"]["blocks"]), (1234, 1),
                         summarize(parent["leaks"]))
        self.assert_leak(parent, "parent_leak", 1234, 1)
        self.assertEqual((parent["totals"]["allocations"], parent["totals"]["frees"]), (2, 1))

        child = by_role["fork child"]
        self.assertEqual(child["process"]["parent_pid"], parent_pid)
        self.assertNotEqual(child["process"]["pid"], parent_pid)
        self.assertEqual((child["process"]["end"], child["process"]["exit_status"]), ("exit", 0))
        self.assertEqual((child["leaks"]["bytes"], child["leaks"]["blocks"]), (2100, 7), summarize(child["leaks"]))
        self.assert_leak(child, "child_work", 2100, 7)
        self.assertEqual(child["totals"]["inherited_frees"], 1)
        self.assertEqual(child["totals"]["unknown_frees"], 0)

        execer = by_role["exec child"]
        self.assertEqual(execer["process"]["parent_pid"], parent_pid)
        self.assertFalse(execer["process"]["clean_exit"])
        self.assertEqual((execer["leaks"]["bytes"], execer["leaks"]["blocks"]), (len(sample("leaky")) + 1, 1),
                         summarize(execer["leaks"]))
        self.assert_leak(execer, "exec_program", len(sample("leaky")) + 1, 1)

        program = by_role["exec'd program"]
        self.assertEqual(program["process"]["pid"], execer["process"]["pid"])
        self.assertFalse(program["process"]["forked"])
        self.assertEqual(program["process"]["end"], "exit")
        self.assertEqual((program["leaks"]["bytes"], program["leaks"]["blocks"]), (41160, 16))


if __name__ == "__main__":
    unittest.main()
