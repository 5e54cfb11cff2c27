#include "tests/integration/proc_tasks.h"

#include <dirent.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aarthik::testing {

std::vector<TaskInfo> TasksOf(pid_t pid) {
  std::vector<TaskInfo> tasks;
  const std::string dir_path = absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) return tasks;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task_path = absl::StrCat(dir_path, "/", entry->d_name);
    TaskInfo task;
    task.tid = entry->d_name;
    std::ifstream comm(task_path + "/comm");
    if (!std::getline(comm, task.name)) continue;  // ended meanwhile
    std::ifstream status(task_path + "/status");
    for (std::string line; std::getline(status, line);) {
      if (absl::StartsWith(line, "voluntary_ctxt_switches:")) {
        (void)absl::SimpleAtoi(line.substr(line.find(':') + 1), &task.voluntary_switches);
      }
    }
    tasks.push_back(std::move(task));
  }
  closedir(dir);
  return tasks;
}

}  // namespace aarthik::testing
