// The threads of a running process as Linux shows them under /proc/<pid>/task: for tests that
// check how many threads the gateway runs, by name, and how often they sleep.
//
//   for (const TaskInfo& task : TasksOf(gateway_pid)) {
//     if (task.name == "nexting_thread") switches[task.tid] = task.voluntary_switches;
//   }
//
// Thread-safety: a pure function (a thread that ends meanwhile is left out).
#ifndef AARTHIK_TESTS_INTEGRATION_PROC_TASKS_H_
#define AARTHIK_TESTS_INTEGRATION_PROC_TASKS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aarthik::testing {

struct TaskInfo {
  std::string tid;
  std::string name;                // comm: Linux cuts names to 15 characters
  int64_t voluntary_switches = 0;  // how often the thread slept
};

// Empty when the process is gone.
std::vector<TaskInfo> TasksOf(pid_t pid);

}  // namespace aarthik::testing

#endif  // AARTHIK_TESTS_INTEGRATION_PROC_TASKS_H_
