import type { IssueKey } from "../graph/model.ts";

export interface ReadyTask {
  key: IssueKey;
  repo: string;
  installation: number;
}

export interface PickInput {
  /** Ready tasks, best-first within each repository (`orderReady`). */
  ready: readonly ReadyTask[];
  /** Tasks holding a worker now (queued or running). */
  running: readonly { repo: string; installation: number }[];
  /** A repository's `max_workers`. */
  maxWorkers: (repo: string) => number;
  /** Free worker slots in the pool. */
  capacity: number;
  /**
   * Which installation and repository go first among equals; pass a number that moves on with every call
   * (a tick count) so nobody is always first. [0]
   */
  cursor?: number;
}

/**
 * The tasks to start now, in start order. Each slot goes to the installation with the fewest tasks
 * running (counting those picked here), then within it to the repository with the fewest, so one busy
 * repository cannot starve the others; a repository never exceeds its `max_workers` and the pool never
 * exceeds its capacity.
 */
export function pickTasks(input: PickInput): IssueKey[] {
  const cursor = Math.max(0, Math.floor(input.cursor ?? 0));
  const queues = new Map<string, { installation: number; tasks: ReadyTask[]; next: number }>();
  for (const task of input.ready) {
    const queue = queues.get(task.repo);
    if (queue) queue.tasks.push(task);
    else queues.set(task.repo, { installation: task.installation, tasks: [task], next: 0 });
  }

  const repoLoad = new Map<string, number>();
  const installationLoad = new Map<number, number>();
  for (const { repo, installation } of input.running) {
    repoLoad.set(repo, (repoLoad.get(repo) ?? 0) + 1);
    installationLoad.set(installation, (installationLoad.get(installation) ?? 0) + 1);
  }
  const limits = new Map([...queues.keys()].map((repo) => [repo, input.maxWorkers(repo)]));

  const repoRank = rotatedRanks(
    [...queues.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    cursor,
  );
  const installationRank = rotatedRanks(
    [...new Set([...queues.values()].map((queue) => queue.installation))].sort((a, b) => a - b),
    cursor,
  );

  const picked: IssueKey[] = [];
  const capacity = Math.max(0, Math.floor(input.capacity));
  while (picked.length < capacity) {
    let best: { repo: string; installation: number } | undefined;
    for (const [repo, queue] of queues) {
      if (queue.next >= queue.tasks.length) continue;
      if ((repoLoad.get(repo) ?? 0) >= (limits.get(repo) ?? 0)) continue;
      if (!best || fairer({ repo, installation: queue.installation }, best)) {
        best = { repo, installation: queue.installation };
      }
    }
    if (!best) break;
    const queue = queues.get(best.repo)!;
    picked.push(queue.tasks[queue.next]!.key);
    queue.next += 1;
    repoLoad.set(best.repo, (repoLoad.get(best.repo) ?? 0) + 1);
    installationLoad.set(best.installation, (installationLoad.get(best.installation) ?? 0) + 1);
  }
  return picked;

  function fairer(a: { repo: string; installation: number }, b: { repo: string; installation: number }) {
    const byInstallation =
      (installationLoad.get(a.installation) ?? 0) - (installationLoad.get(b.installation) ?? 0) ||
      installationRank.get(a.installation)! - installationRank.get(b.installation)!;
    if (byInstallation !== 0) return byInstallation < 0;
    const byRepo =
      (repoLoad.get(a.repo) ?? 0) - (repoLoad.get(b.repo) ?? 0) ||
      repoRank.get(a.repo)! - repoRank.get(b.repo)!;
    return byRepo < 0;
  }
}

/** Position of each item in `sorted` after rotating it left by `cursor`. */
function rotatedRanks<T>(sorted: readonly T[], cursor: number): Map<T, number> {
  const n = sorted.length;
  return new Map(sorted.map((item, i) => [item, (i - (cursor % n) + n) % n]));
}
